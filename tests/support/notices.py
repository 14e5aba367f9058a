"""Test support for notices: meetings and registrations as engagement announces them, applied
through notifications' handlers in a transaction as its consumer would, and the senders
drained until nothing is due."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.notifications.deliveries import writing
from services.notifications.deliveries.sender import Worker
from services.notifications.deliveries.transports import SmsTransport, SmtpTransport
from shared.contracts import Envelope, Event, RegistrationConfirmed
from shared.contracts.meetings import MeetingFacts, Registrant, Texts
from shared.settings import Settings

_sequence = iter(range(1, 10**9))


def a_meeting(**fields: Any) -> MeetingFacts:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    values: dict[str, Any] = {
        "meeting_id": uuid.uuid4(),
        "kind": "webinar",
        "organisation_id": uuid.uuid4(),
        "title": Texts(en="Equity indicators", es="Indicadores de equidad"),
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=1, minutes=30),
        "time_zone": "America/Los_Angeles",
        "venue": None,
        "sequence": 0,
    }
    return MeetingFacts(**(values | fields))


def envelope_of(event: Event, aggregate: str | None = None) -> Envelope:
    return Envelope.wrap(event, producer="engagement", aggregate=aggregate, sequence=next(_sequence))


async def apply(pool: asyncpg.Pool, event: Event, envelope: Envelope | None = None) -> Envelope:
    """The event through its handler in one transaction, as the consumer applies it."""
    envelope = envelope or envelope_of(
        event, getattr(event, "person_id", None) and f"person:{event.person_id}"
    )  # type: ignore[attr-defined]
    handler = writing.NOTICES.handler_for(event)
    async with pool.acquire() as conn, conn.transaction():
        await handler(event, conn, envelope)
    return envelope


def confirmed(
    meeting: MeetingFacts, email: str | None, *, phone: str | None = None, language: str = "en", **fields: Any
) -> RegistrationConfirmed:
    return RegistrationConfirmed(
        registration_id=fields.pop("registration_id", uuid.uuid4()),
        person_id=fields.pop("person_id", uuid.uuid4()),
        language=language,  # type: ignore[arg-type]
        meeting=meeting,
        registrant=Registrant(display_name="Ana", email=email, phone=phone),
        link_path=f"/meetings/r/{uuid.uuid4().hex}",
        join_url="https://meet.example.org/equity",
        confirmed_at=datetime.now(UTC),
        **fields,
    )


async def drain(pool: asyncpg.Pool, settings: Settings, channel: str = "email") -> int:
    """Send until nothing is due now; returns how many rows were claimed in all."""
    transport = SmtpTransport(settings) if channel == "email" else SmsTransport(settings)
    worker = Worker(pool, settings, channel, transport)
    total = 0
    try:
        while claimed := await worker.once():
            total += claimed
    finally:
        await transport.close()
    return total


async def deliveries_of(pool: asyncpg.Pool, subject: str) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT * FROM deliveries WHERE subject = $1 ORDER BY id", subject))
