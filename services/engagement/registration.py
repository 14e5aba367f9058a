"""Registering a person: the row and its ``person.registered`` event, in one transaction."""

import uuid
from uuid import UUID

import asyncpg

from services.engagement import store
from services.engagement.people import PersonRegistration
from shared.contracts import PersonRegistered
from shared.db import DbConnection
from shared.outbox import emit

PRODUCER = "engagement"


class EmailTaken(Exception):
    pass


async def register_person(
    conn: DbConnection,
    person: PersonRegistration,
    *,
    person_id: UUID | None = None,
    correlation_id: str | None = None,
    is_demo: bool = False,
) -> tuple[UUID, bool]:
    """Returns the person's id and whether they are new (an existing id is left untouched)."""
    person_id = person_id or uuid.uuid4()
    async with conn.transaction():
        try:
            registered_at = await store.insert_person(conn, person_id, person, is_demo=is_demo)
        except asyncpg.UniqueViolationError as exc:
            raise EmailTaken(person.email) from exc
        if registered_at is None:
            return person_id, False
        await emit(
            conn,
            PersonRegistered(person_id=person_id, registered_at=registered_at, **person.model_dump()),
            producer=PRODUCER,
            correlation_id=correlation_id,
        )
    return person_id, True
