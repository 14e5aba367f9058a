"""People. Here: the rules for registering a person (no I/O: tested fast and alone). Beside
them: consent per channel and purpose (``consent``: its rules; ``changing``: recording a change),
erasure (``erasing``), their SQL (``store``) and the operators' CLI (``python -m
services.engagement.people``)."""

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonDict

from shared.contracts import Language

# White space as str.strip and Python's \s know it, spelled out: the patterns below are also read
# by JavaScript-style regex engines, whose \s is another set.
_WS_CHARS = r"\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_WS = f"[{_WS_CHARS}]"
_PHONE_PUNCTUATION = rf"[{_WS_CHARS}().-]"
# Controls (Unicode Cc), line breaks and bidirectional overrides: in no name or address.
_CONTROLS = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e"
_EMAIL = re.compile(rf"^[^@{_WS_CHARS}{_CONTROLS}]{{1,64}}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_POSTAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]$")

# The same rules as patterns in the OpenAPI document, so that a client (and the fuzzer) knows
# what is accepted. Each allows the white space around a value that is stripped before the
# rules apply (what str.strip removes), and the blank value that means none. Lengths count the
# value as sent, as the document says.
Stripped = Annotated[str, AfterValidator(str.strip)]
_StrippedEmail = Annotated[str, StringConstraints(max_length=320), AfterValidator(str.strip)]
NAME_PATTERN = rf"^{_WS}*[^{_CONTROLS}]*[^{_CONTROLS}{_WS_CHARS}][^{_CONTROLS}]*{_WS}*$"
EMAIL_PATTERN = rf"^{_WS}*({_EMAIL.pattern[1:-1]})?{_WS}*$"
PHONE_PATTERN = (
    rf"^({_WS}*|{_PHONE_PUNCTUATION}*(\+{_PHONE_PUNCTUATION}*)?([0-9]{_PHONE_PUNCTUATION}*){{8,15}})$"
)
POSTAL_PATTERN = rf"^{_WS}*({_POSTAL.pattern[1:-1]})?{_WS}*$"
_CONSENT_NEEDS_AN_ADDRESS: JsonDict = {
    "if": {"required": ["consent_to_contact"], "properties": {"consent_to_contact": {"const": True}}},
    "then": {
        "anyOf": [
            {"required": [field], "properties": {field: {"type": "string", "pattern": f"[^{_WS_CHARS}]"}}}
            for field in ("email", "phone")
        ]
    },
}

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

    # Strict: JSON types as declared (no 0 for false, no "yes" for true).
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_CONSENT_NEEDS_AN_ADDRESS)

    display_name: Stripped = Field(min_length=1, max_length=200, json_schema_extra={"pattern": NAME_PATTERN})
    email: _StrippedEmail | None = Field(default=None, json_schema_extra={"pattern": EMAIL_PATTERN})
    phone: Stripped | None = Field(default=None, json_schema_extra={"pattern": PHONE_PATTERN})
    language: Language = "en"
    postal_code: Stripped | None = Field(default=None, json_schema_extra={"pattern": POSTAL_PATTERN})
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
        digits = re.sub(_PHONE_PUNCTUATION, "", value)
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
