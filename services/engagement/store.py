"""Engagement's SQL."""

from datetime import datetime
from uuid import UUID

import asyncpg

from services.engagement.people import PersonRegistration
from shared.db import DbConnection


async def insert_person(
    conn: DbConnection,
    person_id: UUID,
    person: PersonRegistration,
    *,
    is_demo: bool = False,
) -> datetime | None:
    """Insert a person; None when that id or that e-mail address is already registered, and
    then nothing is written: the registered person stays as they were."""
    registered_at: datetime | None = await conn.fetchval(
        """INSERT INTO people (id, display_name, email, phone, language, postal_code,
                               consent_to_contact, is_demo)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT DO NOTHING
           RETURNING registered_at""",
        person_id,
        person.display_name,
        person.email,
        person.phone,
        person.language,
        person.postal_code,
        person.consent_to_contact,
        is_demo,
    )
    return registered_at


async def insert_confirmation(
    conn: DbConnection, token_hash: bytes, person_id: UUID, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO consent_confirmations (token_hash, person_id, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        person_id,
        expires_at,
    )


async def confirm(conn: DbConnection, token_hash: bytes) -> asyncpg.Record | None:
    """Mark a pending, unexpired confirmation and its person's consent confirmed; None when the
    link is unknown, expired or used already (then nothing changes)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """WITH confirmed AS (
               UPDATE consent_confirmations SET confirmed_at = clock_timestamp()
               WHERE token_hash = $1 AND confirmed_at IS NULL AND expires_at > clock_timestamp()
               RETURNING person_id, confirmed_at)
           UPDATE people SET consent_confirmed_at = confirmed.confirmed_at
           FROM confirmed WHERE people.id = confirmed.person_id
           RETURNING people.id AS person_id, people.consent_confirmed_at AS confirmed_at""",
        token_hash,
    )
    return row


async def find_confirmation(conn: DbConnection | asyncpg.Pool, token_hash: bytes) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT confirmed_at, expires_at <= clock_timestamp() AS expired
           FROM consent_confirmations WHERE token_hash = $1""",
        token_hash,
    )
    return row


async def count_attempt(conn: DbConnection | asyncpg.Pool, client: str, window_s: int) -> asyncpg.Record:
    """Count one registration attempt of ``client`` in the current fixed window; returns the
    attempts so far in it and the whole seconds until it ends."""
    row = await conn.fetchrow(
        """INSERT INTO registration_attempts AS a (client, window_start, attempts)
           VALUES ($1, to_timestamp(floor(extract(epoch FROM clock_timestamp()) / $2::int) * $2::int), 1)
           ON CONFLICT (client, window_start) DO UPDATE SET attempts = a.attempts + 1
           RETURNING attempts,
                     greatest(1, ceil(extract(epoch FROM a.window_start + make_interval(secs => $2::int)
                                                         - clock_timestamp())))::int AS seconds_left""",
        client,
        window_s,
    )
    assert row is not None
    return row


async def forget_attempts(conn: DbConnection | asyncpg.Pool, window_s: int) -> int:
    """Delete the windows that have ended."""
    deleted: str = await conn.execute(
        """DELETE FROM registration_attempts
           WHERE window_start < clock_timestamp() - make_interval(secs => $1::int)""",
        window_s,
    )
    return int(deleted.split()[-1])


async def count_people(conn: DbConnection | asyncpg.Pool) -> asyncpg.Record:
    row = await conn.fetchrow(
        """SELECT count(*) AS people,
                  count(*) FILTER (WHERE consent_confirmed_at IS NOT NULL) AS consenting,
                  count(*) FILTER (WHERE is_demo) AS demo
           FROM people"""
    )
    assert row is not None
    return row
