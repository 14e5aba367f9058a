"""Engagement's SQL."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from services.engagement.people import PersonRegistration
from shared.db import DbConnection


async def insert_people(
    conn: DbConnection, people: Sequence[tuple[UUID, PersonRegistration]], *, is_demo: bool = False
) -> dict[UUID, datetime]:
    """Insert people in one statement; returns when each new one registered. An id or e-mail
    address already registered (or twice in ``people``), or the id of an erased person, is
    skipped: that person stays as they were, and is not in the result."""
    rows = await conn.fetch(
        """INSERT INTO people (id, display_name, email, phone, language, postal_code,
                               consent_to_contact, is_demo)
           SELECT *, $8::boolean FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[],
                                             $5::text[], $6::text[], $7::boolean[]) AS p (id)
           WHERE NOT EXISTS (SELECT FROM erased_people e WHERE e.person_id = p.id)
           ON CONFLICT DO NOTHING
           RETURNING id, registered_at""",
        [person_id for person_id, _ in people],
        [p.display_name for _, p in people],
        [p.email for _, p in people],
        [p.phone for _, p in people],
        [p.language for _, p in people],
        [p.postal_code for _, p in people],
        [p.consent_to_contact for _, p in people],
        is_demo,
    )
    return {r["id"]: r["registered_at"] for r in rows}


async def insert_confirmations(
    conn: DbConnection, confirmations: Sequence[tuple[bytes, UUID, datetime]]
) -> None:
    """(token hash, person id, expires at) of each link sent."""
    await conn.execute(
        """INSERT INTO consent_confirmations (token_hash, person_id, expires_at)
           SELECT * FROM unnest($1::bytea[], $2::uuid[], $3::timestamptz[])""",
        [token_hash for token_hash, _, _ in confirmations],
        [person_id for _, person_id, _ in confirmations],
        [expires_at for _, _, expires_at in confirmations],
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
