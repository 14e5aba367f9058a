"""The events of meetings and registrations, built from what a write has locked and emitted in
its transaction (shared/contracts/meetings.py says who gets what). A meeting's events are its
aggregate's (``meeting:<id>``); a registration's are about its person (``person:<id>``), as
they carry the address registered with: erasure deletes those still in the outbox."""

from datetime import datetime

import asyncpg

from services.engagement.meetings.models import Meeting, Registration
from shared.contracts import Event
from shared.contracts.meetings import MeetingFacts, Registrant
from shared.db import DbConnection
from shared.outbox import emit

PRODUCER = "engagement"


def facts(meeting: Meeting) -> MeetingFacts:
    return MeetingFacts(
        meeting_id=meeting.id,
        kind=meeting.kind,
        organisation_id=meeting.organisation_id,
        cop_id=meeting.cop_id,
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        time_zone=meeting.time_zone,
        venue=meeting.venue,
        step_free_access=meeting.step_free_access,
        sequence=meeting.sequence,
    )


def about(registration: Registration, meeting: Meeting) -> dict[str, object]:
    """What every registration event says: whose, in which language, for which meeting, where
    to reach them about it."""
    return {
        "registration_id": registration.id,
        "person_id": registration.person_id,
        "language": registration.language,
        "meeting": facts(meeting),
        "registrant": Registrant(
            display_name=registration.display_name, email=registration.email, phone=registration.phone
        ),
    }


async def emit_meeting(
    conn: DbConnection, event: Event, meeting: Meeting, correlation_id: str | None, actor: str | None
) -> None:
    await emit(
        conn,
        event,
        producer=PRODUCER,
        correlation_id=correlation_id,
        actor=actor,
        aggregate=f"meeting:{meeting.id}",
    )


async def emit_registration(
    conn: DbConnection, event: Event, registration: Registration, correlation_id: str | None
) -> None:
    await emit(
        conn,
        event,
        producer=PRODUCER,
        correlation_id=correlation_id,
        aggregate=f"person:{registration.person_id}",
    )


def moment(row: asyncpg.Record, name: str) -> datetime:
    value: datetime = row[name]
    return value
