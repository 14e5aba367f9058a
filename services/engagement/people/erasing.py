"""Erasing a person: engagement's part, and the event that tells the other services to do theirs.

In one transaction: the person's row goes with their confirmations and consent history (nothing
identifying is kept; their consent is no longer needed once nobody may be contacted), their
id stays as a tombstone (so it is never registered again and nothing more is emitted about it),
every outbox row of their aggregate is deleted, published or not, and ``person.erased`` is
emitted: the aggregate's last sequence number, so consumers refuse any earlier event of it that
arrives later. Messages about the person parked in a DLQ or waiting in ``civic.unrouted`` are
the operator's to drop (``python -m deploy.parked erase person:<id>``)."""

import enum
from datetime import UTC, datetime
from uuid import UUID

from services.engagement.meetings.registering import release_seats_of
from services.engagement.people import store
from shared.contracts import PersonErased
from shared.db import DbConnection
from shared.erasure import erase_from_outbox
from shared.outbox import emit

PRODUCER = "engagement"


class Erasure(enum.Enum):
    ERASED = "erased"
    ALREADY_ERASED = "already erased"
    UNKNOWN = "unknown"


async def erase_person(
    conn: DbConnection, person_id: UUID, *, correlation_id: str | None = None, actor: str | None = None
) -> Erasure:
    """Erase the person in a transaction of its own. Erasing them again changes nothing."""
    aggregate = f"person:{person_id}"
    async with conn.transaction():
        await release_seats_of(conn, person_id, correlation_id)
        if await store.lock_person(conn, person_id) is None:
            return Erasure.ALREADY_ERASED if await store.is_erased(conn, person_id) else Erasure.UNKNOWN
        await store.delete_person(conn, person_id)
        await erase_from_outbox(conn, aggregate)
        await emit(
            conn,
            PersonErased(person_id=person_id, erased_at=datetime.now(UTC)),
            producer=PRODUCER,
            correlation_id=correlation_id,
            actor=actor,
            aggregate=aggregate,
        )
    return Erasure.ERASED
