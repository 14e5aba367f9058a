"""SQL for a person's consent and erasure."""

from datetime import datetime
from uuid import UUID

import asyncpg

from services.engagement.people.consent import ChangedBy, Method
from shared.contracts import Consent
from shared.db import DbConnection


async def lock_person(conn: DbConnection, person_id: UUID) -> asyncpg.Record | None:
    """The person's addresses, their row locked until the transaction ends: changes to one
    person's consent (and their erasure) follow one another, so each event's set is the newest."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT email, phone FROM people WHERE id = $1 FOR UPDATE", person_id
    )
    return row


async def is_erased(conn: DbConnection, person_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM erased_people WHERE person_id = $1", person_id))


async def current_consents(conn: DbConnection, person_id: UUID) -> frozenset[Consent]:
    """The latest change of each channel and purpose that grants."""
    rows = await conn.fetch(
        """SELECT channel, purpose FROM (
               SELECT DISTINCT ON (channel, purpose) channel, purpose, granted
               FROM consent_changes WHERE person_id = $1
               ORDER BY channel, purpose, id DESC) latest
           WHERE granted""",
        person_id,
    )
    return frozenset(Consent.model_validate(dict(r)) for r in rows)


async def insert_changes(
    conn: DbConnection, person_id: UUID, changes: dict[Consent, bool], method: Method, changed_by: ChangedBy
) -> datetime:
    """Record the changes (one moment for all); returns it."""
    changed_at: datetime = await conn.fetchval(
        """WITH written AS (
               INSERT INTO consent_changes
                   (person_id, channel, purpose, granted, changed_at, method, changed_by)
               SELECT $1, channel, purpose, granted, now(), $5, $6
               FROM unnest($2::text[], $3::text[], $4::boolean[]) AS c (channel, purpose, granted)
               RETURNING changed_at)
           SELECT max(changed_at) FROM written""",
        person_id,
        [c.channel for c in changes],
        [c.purpose for c in changes],
        list(changes.values()),
        method.value,
        str(changed_by),
    )
    return changed_at


async def consent_history(conn: DbConnection | asyncpg.Pool, person_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT channel, purpose, granted, changed_at, method, changed_by FROM consent_changes
           WHERE person_id = $1 ORDER BY id""",
        person_id,
    )


async def delete_person(conn: DbConnection, person_id: UUID) -> None:
    """Their row (confirmations, consent changes and memberships cascade), leaving the
    pseudonymous tombstone, and their requests to join a CoP, which are kept by name and
    address rather than by person, so only the address finds them."""
    await conn.execute(
        """WITH gone AS (DELETE FROM people WHERE id = $1 RETURNING id, email),
                requests AS (DELETE FROM cop_join_requests r USING gone
                             WHERE gone.email IS NOT NULL AND lower(r.email) = lower(gone.email))
           INSERT INTO erased_people (person_id) SELECT id FROM gone""",
        person_id,
    )
