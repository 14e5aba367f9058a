"""Consent per channel (e-mail, SMS) and per purpose (meetings, surveys, campaign news, research
use of demographics): the rules, without I/O.

A person's consent is the set of (channel, purpose) they agreed to; every change is recorded with
when, how (``Method``) and by whom (``ChangedBy``). What a confirmed registration grants:
``consent_to_contact`` at registration only asks, and confirming through the link mailed to the
address grants e-mail for meetings and surveys, what someone who asks to be contacted about their
community expects. Not campaign news (promotion, asked for by itself), not research use of their
demographics (a separate agreement, never implied), and not SMS (the number was never confirmed).
"""

import enum
import re
from collections.abc import Iterable
from typing import Literal, Self, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, model_validator

from shared.contracts import Channel, Consent, Purpose

CHANNELS: tuple[Channel, ...] = get_args(Channel)
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)
CONFIRMATION_GRANTS = frozenset(
    {Consent(channel="email", purpose="meetings"), Consent(channel="email", purpose="surveys")}
)
_OPERATOR = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class Method(enum.StrEnum):
    """How a change was made."""

    REGISTRATION = "registration"
    CONFIRMATION_LINK = "confirmation_link"
    RESIDENT_PAGE = "resident_page"
    ORGANIZER = "organizer"
    IMPORT = "import"
    CLI = "cli"
    UNSUBSCRIBE_LINK = "unsubscribe_link"  # a message's one-click link or the preferences page


# Who may make a change each way: the person alone on their own forms and links; an organizer's
# account on the console and imports; an operator (or an account they name) on the CLI.
_MAKERS: dict[Method, frozenset[str]] = {
    Method.REGISTRATION: frozenset({"person"}),
    Method.CONFIRMATION_LINK: frozenset({"person"}),
    Method.RESIDENT_PAGE: frozenset({"person"}),
    Method.ORGANIZER: frozenset({"account"}),
    Method.IMPORT: frozenset({"account"}),
    Method.CLI: frozenset({"account", "operator"}),
    Method.UNSUBSCRIBE_LINK: frozenset({"person"}),
}


class ChangedBy(BaseModel):
    """The person themself, an organizer's account, or an operator's login (CLI)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["person", "account", "operator"]
    id: str | None = None

    @model_validator(mode="after")
    def _named_unless_the_person(self) -> Self:
        if self.kind == "person" and self.id is not None:
            raise ValueError("the person themself is not named by an id")
        if self.kind == "account":
            UUID(str(self.id))  # a ValueError names a bad one
        if self.kind == "operator" and not _OPERATOR.match(self.id or ""):
            raise ValueError(f"an operator's login is 1 to 64 of A-Z a-z 0-9 . _ @ -, not {self.id!r}")
        return self

    def __str__(self) -> str:
        return "person" if self.kind == "person" else f"{self.kind}:{self.id}"


PERSON = ChangedBy(kind="person")


def confirmation_change(*, email: str | None) -> "ConsentChange | None":
    """What confirming through the mailed link grants: nothing to someone without an e-mail
    address (a number alone is never confirmed by a link)."""
    if email is None:
        return None
    return ConsentChange(grant=CONFIRMATION_GRANTS, method=Method.CONFIRMATION_LINK, changed_by=PERSON)


def parse_consent(text: str) -> Consent:
    """``email:meetings`` -> Consent; a ValueError naming what is accepted otherwise."""
    channel, _, purpose = text.strip().partition(":")
    if channel not in CHANNELS or purpose not in PURPOSES:
        raise ValueError(
            f"{text!r} is not CHANNEL:PURPOSE (channels: {', '.join(CHANNELS)}; "
            f"purposes: {', '.join(PURPOSES)})"
        )
    return Consent.model_validate({"channel": channel, "purpose": purpose})


class ConsentChange(BaseModel):
    """What to grant and withdraw, how, and by whom."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grant: frozenset[Consent] = frozenset()
    withdraw: frozenset[Consent] = frozenset()
    method: Method
    changed_by: ChangedBy

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if not self.grant and not self.withdraw:
            raise ValueError("nothing to grant or withdraw")
        if both := self.grant & self.withdraw:
            raise ValueError(f"both granted and withdrawn: {', '.join(sorted(label(c) for c in both))}")
        if self.changed_by.kind not in _MAKERS[self.method]:
            raise ValueError(f"a change by {self.method.value} cannot be made by {self.changed_by.kind}")
        return self

    def effective(self, current: frozenset[Consent]) -> dict[Consent, bool]:
        """The changes that alter ``current`` (granting what is given changes nothing), each with
        whether it grants, in the one order of ``ordered`` (the history reads the same each time)."""
        changes = {c: True for c in self.grant - current} | {c: False for c in self.withdraw & current}
        return {c: changes[c] for c in ordered(changes)}


def unreachable(change: ConsentChange, *, email: str | None, phone: str | None) -> list[Consent]:
    """The grants on a channel the person has no address for (to refuse, naming them)."""
    has = {"email": email is not None, "sms": phone is not None}
    return sorted((c for c in change.grant if not has[c.channel]), key=label)


def applied(current: frozenset[Consent], changes: dict[Consent, bool]) -> frozenset[Consent]:
    return (current - {c for c, granted in changes.items() if not granted}) | {
        c for c, granted in changes.items() if granted
    }


def ordered(consents: Iterable[Consent]) -> tuple[Consent, ...]:
    """In the events and on screen: by channel, then purpose, as declared."""
    return tuple(sorted(consents, key=lambda c: (CHANNELS.index(c.channel), PURPOSES.index(c.purpose))))


def label(consent: Consent) -> str:
    return f"{consent.channel}:{consent.purpose}"
