"""Erasing a person: engagement's part, and the event that tells the other services to do theirs.

In one transaction: the person's row goes with their confirmations and consent history (nothing
identifying is kept; their consent is no longer needed once nobody may be contacted), their
id stays as a tombstone (so it is never registered again and nothing more is emitted about it),
every outbox row of their aggregate is deleted, published or not (and they are taken out of
other aggregates' events that name them), and ``person.erased`` is
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
        await _forget_in_other_events(conn, person_id)
        await emit(
            conn,
            PersonErased(person_id=person_id, erased_at=datetime.now(UTC)),
            producer=PRODUCER,
            correlation_id=correlation_id,
            actor=actor,
            aggregate=aggregate,
        )
    return Erasure.ERASED


async def _forget_in_other_events(conn: DbConnection, person_id: UUID) -> None:
    """Events of other aggregates that name the person, published or not (the outbox keeps them
    seven days): a competition's outcome loses its contact, a campaign's audience listing loses
    the member (a part listing them alone goes: a part lists someone, or is not sent)."""
    await conn.execute(
        """UPDATE outbox SET payload = jsonb_set(payload, '{data,contact_person_id}', 'null')
           WHERE routing_key = 'application.decided' AND payload -> 'data' ->> 'contact_person_id' = $1""",
        str(person_id),
    )
    await conn.execute(
        """DELETE FROM outbox
           WHERE routing_key = 'campaign.audience_listed'
             AND payload -> 'data' -> 'members'
                 @> jsonb_build_array(jsonb_build_object('person_id', $1::text))
             AND jsonb_array_length(payload -> 'data' -> 'members') = 1""",
        str(person_id),
    )
    await conn.execute(
        """UPDATE outbox SET payload = jsonb_set(payload, '{data,members}',
               (SELECT jsonb_agg(m) FROM jsonb_array_elements(payload -> 'data' -> 'members') AS m
                WHERE m ->> 'person_id' <> $1))
           WHERE routing_key = 'campaign.audience_listed'
             AND payload -> 'data' -> 'members'
                 @> jsonb_build_array(jsonb_build_object('person_id', $1::text))""",
        str(person_id),
    )
