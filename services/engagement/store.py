"""Engagement's SQL."""

from datetime import datetime
from uuid import UUID

import asyncpg

from services.engagement.people import PersonRegistration
from shared.db import DbConnection


async def insert_person(
    conn: DbConnection, person_id: UUID, person: PersonRegistration, *, is_demo: bool = False
) -> datetime | None:
    """Insert a person; None when that id is already registered."""
    registered_at: datetime | None = await conn.fetchval(
        """INSERT INTO people (id, display_name, email, phone, language, postal_code,
                               consent_to_contact, is_demo)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO NOTHING
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


async def count_people(conn: DbConnection | asyncpg.Pool) -> asyncpg.Record:
    row = await conn.fetchrow(
        """SELECT count(*) AS people,
                  count(*) FILTER (WHERE consent_to_contact) AS consenting,
                  count(*) FILTER (WHERE is_demo) AS demo
           FROM people"""
    )
    assert row is not None
    return row
