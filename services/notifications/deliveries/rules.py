"""What to do with a claimed delivery, and what an answer from a server means. Pure functions.

States: ``pending`` (not yet sent, or to be retried after a transient answer), ``sent``
(accepted by the SMTP server or the SMS provider), ``failed`` (refused for good, with the
answer; or interrupted: in flight when its sender died, outcome unknown, so not sent again),
``suppressed`` (no consent, unsubscribed, no contact point: never sent), ``deferred`` (waiting
for the end of quiet hours or for the send-rate limit's next window)."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from services.notifications.contacts.quiet import quiet_until

State = Literal["pending", "sent", "failed", "suppressed", "deferred"]
STATES: tuple[State, ...] = ("sent", "failed", "suppressed", "deferred", "pending")
INTERRUPTED = "interrupted: in flight when its sender stopped; not sent again"


@dataclass(frozen=True)
class Recipient:
    """What the sender knows of the person when it decides."""

    transactional: bool
    channel: str
    purpose: str
    address: str | None  # the registration's, for a transactional notice
    contact_email: str | None
    contact_phone: str | None
    consent_confirmed: bool
    consents: frozenset[str]
    unsubscribed: bool
    quiet_start: time | None = None
    quiet_end: time | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class Send:
    address: str


@dataclass(frozen=True)
class Suppress:
    reason: Literal["no_consent", "unsubscribed", "no_contact_point"]


@dataclass(frozen=True)
class Defer:
    reason: Literal["quiet_hours", "rate_limit"]
    until: datetime


Decision = Send | Suppress | Defer


def decide(recipient: Recipient, now: datetime) -> Decision:
    """A notice the person asked for goes to the address they gave for it, whatever their
    consent to other messages, and at once. Anything else needs confirmed consent for its
    channel and purpose, no unsubscribe, an address on that channel, and waits out quiet hours."""
    if recipient.transactional:
        return Send(recipient.address) if recipient.address else Suppress("no_contact_point")
    if recipient.unsubscribed:
        return Suppress("unsubscribed")
    if (
        not recipient.consent_confirmed
        or f"{recipient.channel}:{recipient.purpose}" not in recipient.consents
    ):
        return Suppress("no_consent")
    address = recipient.contact_email if recipient.channel == "email" else recipient.contact_phone
    if not address:
        return Suppress("no_contact_point")
    if recipient.quiet_start is not None and recipient.quiet_end is not None and recipient.time_zone:
        until = quiet_until(now, recipient.quiet_start, recipient.quiet_end, recipient.time_zone)
        if until is not None:
            return Defer("quiet_hours", until)
    return Send(address)


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: sent, to be retried at ``retry_at``, or failed for good."""

    state: Literal["sent", "pending", "failed"]
    reason: str | None = None
    retry_at: datetime | None = None


def after_refusal(
    code: int | None, answer: str, attempts: int, retry_s: list[float], now: datetime
) -> Outcome:
    """A refusal with an SMTP-like code: 4xx (and no code at all: the connection broke) is
    transient and retried after the next delay of ``retry_s``, until they are used up; 5xx is
    permanent. ``attempts`` counts this one."""
    reason = f"{code} {answer}".strip() if code is not None else answer
    if code is not None and code >= 500:
        return Outcome("failed", reason[:500])
    if attempts > len(retry_s):
        return Outcome("failed", f"gave up after {attempts} attempts: {reason}"[:500])
    return Outcome("pending", reason[:500], now + timedelta(seconds=retry_s[attempts - 1]))


def http_as_smtp_code(status: int) -> int:
    """An SMS provider's HTTP status in SMTP's terms: 429 and 5xx are worth retrying (4xx),
    any other 4xx is a refusal of the message itself (5xx)."""
    if status == 429 or status >= 500:
        return 451
    return 550
