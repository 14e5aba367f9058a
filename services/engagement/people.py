"""Rules for registering a person. No I/O: tested fast and alone."""

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.contracts import Language

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_POSTAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]$")

# What a name may not hold. Not str.isprintable, which also refuses the format characters real
# names need (ZWJ in emoji and Hindi, ZWNJ in Persian, soft hyphens, direction marks) and every
# character newer than Python's Unicode tables. Refused: controls (Cc: tabs, newlines, escapes,
# bells), line and paragraph separators, and the bidirectional embeddings and overrides
# U+202A-U+202E, which no keyboard types (Unicode recommends isolates instead) and which can make
# a name shown in a list read as something else. Isolates (U+2066-U+2069) and marks stay allowed.
_LINE_BREAKS = ("Zl", "Zp")
_BIDI_OVERRIDES = frozenset("\u202a\u202b\u202c\u202d\u202e")
_INVISIBLE = frozenset({"Cf", "Zs", "Mn", "Me"})


def _refused_character(text: str) -> str | None:
    """Why ``text`` cannot be a name a person typed, naming the first offending character."""
    for position, char in enumerate(text, start=1):
        category = unicodedata.category(char)
        if category == "Cc":
            kind = "a control character"
        elif category in _LINE_BREAKS:
            kind = "a line break"
        elif char in _BIDI_OVERRIDES:
            kind = "a bidirectional override"
        else:
            continue
        return f"contains {kind} U+{ord(char):04X} at position {position}"
    return None


class PersonRegistration(BaseModel):
    """What a resident, member or organizer gives us when they sign up."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = None
    language: Language = "en"
    postal_code: str | None = None
    consent_to_contact: bool = False

    @field_validator("display_name")
    @classmethod
    def _typed_name(cls, value: str) -> str:
        if refused := _refused_character(value):
            raise ValueError(refused)
        if all(unicodedata.category(c) in _INVISIBLE for c in value):
            raise ValueError("has no visible character")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not _EMAIL.match(value):
            raise ValueError("is not an e-mail address")
        local, domain = value.rsplit("@", 1)
        return f"{local}@{domain.lower()}"

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        """Normalise to E.164 (+ and 8 to 15 digits); spaces, dots, dashes and brackets are allowed."""
        if value in (None, ""):
            return None
        digits = re.sub(r"[\s().-]", "", value)
        if not re.fullmatch(r"\+?[0-9]{8,15}", digits):
            raise ValueError("is not a phone number (8 to 15 digits, optionally starting with +)")
        return digits if digits.startswith("+") else f"+{digits}"

    @field_validator("postal_code")
    @classmethod
    def _postal(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not _POSTAL.match(value):
            raise ValueError("is not a postal code")
        return value.upper()

    @field_validator("consent_to_contact")
    @classmethod
    def _reachable_if_consenting(cls, value: bool, info: ValidationInfo) -> bool:
        # Declared last, so the contact fields are already validated in info.data.
        if value and not (info.data.get("email") or info.data.get("phone")):
            raise ValueError("needs an e-mail address or a phone number to contact")
        return value


class RegistrationAccepted(BaseModel):
    """The answer to every accepted registration, new address or not: it names no person, so it
    cannot tell anyone who is registered."""

    status: Literal["accepted"] = "accepted"
    detail: str = (
        "Registration received. If you asked to be contacted, follow the link we send to your "
        "address to confirm; nothing else is sent there until you do."
    )
