"""The SQL of meetings and their registrations.

A meeting's row is the lock that keeps it within its capacity: every write that seats someone
or frees a seat (registering, cancelling, a change of capacity, promoting) locks it first, so
concurrent registrations for one meeting are counted one after the other and never overfill it.
Locks are taken meeting first, then its registrations, everywhere, so two writers cannot
deadlock."""

import json
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.engagement.community.models import PAGE_SIZE
from services.engagement.community.store import Db, _like
from services.engagement.meetings.rules import MeetingFields, RegistrationChange, RegistrationFields
from shared.db import DbConnection

_MEETING = """SELECT m.id, m.kind, m.organisation_id, m.cop_id, coalesce(o.name, c.topic) AS host_name,
                     m.title::text AS title, m.description::text AS description, m.time_zone,
                     m.starts_at, m.ends_at, m.venue, m.step_free AS step_free_access, m.join_url,
                     m.capacity, m.status, m.sequence, m.recording_url, m.decision_id, m.is_demo,
                     m.updated_at, m.cancelled_at,
                     (SELECT count(*) FROM meeting_registrations r
                      WHERE r.meeting_id = m.id AND r.status = 'confirmed') AS confirmed,
                     (SELECT count(*) FROM meeting_registrations r
                      WHERE r.meeting_id = m.id AND r.status = 'waitlisted') AS waitlisted,
                     count(*) OVER () AS total
              FROM meetings m
              LEFT JOIN organisations o ON o.id = m.organisation_id
              LEFT JOIN cops c ON c.id = m.cop_id"""


async def meetings(
    conn: Db,
    search: str,
    offset: int,
    organisations: Sequence[UUID] | None,
    cops: Sequence[UUID] | None,
) -> list[asyncpg.Record]:
    """A page of meetings whose title (in either language) holds ``search``, soonest last
    first: hosted by ``organisations`` or ``cops`` only, unless both are None (an admin)."""
    return await conn.fetch(
        f"""{_MEETING}
            WHERE (m.title ->> 'en' ILIKE $1 OR m.title ->> 'es' ILIKE $1)
              AND (($2::uuid[] IS NULL AND $3::uuid[] IS NULL)
                   OR m.organisation_id = ANY($2) OR m.cop_id = ANY($3))
            ORDER BY m.starts_at DESC, m.id OFFSET $4 LIMIT $5""",
        _like(search),
        None if organisations is None else list(organisations),
        None if cops is None else list(cops),
        offset,
        PAGE_SIZE,
    )


async def meeting(conn: Db, meeting_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_MEETING} WHERE m.id = $1", meeting_id)
    return row


async def lock(conn: DbConnection, meeting_id: UUID) -> asyncpg.Record | None:
    """The meeting, locked until the transaction ends, with how many hold a seat and wait
    (read after the lock, so they count every registration committed before it)."""
    if await conn.fetchval("SELECT true FROM meetings WHERE id = $1 FOR UPDATE", meeting_id) is None:
        return None
    return await meeting(conn, meeting_id)


def _columns(fields: MeetingFields) -> tuple[object, ...]:
    return (
        fields.kind,
        fields.organisation_id,
        fields.cop_id,
        fields.title.model_dump_json(exclude_none=True),
        fields.description.model_dump_json(exclude_none=True),
        fields.time_zone,
        fields.starts_at,
        fields.ends_at,
        fields.venue,
        fields.step_free_access,
        fields.join_url,
        fields.capacity,
        fields.recording_url,
        fields.decision_id,
    )


async def insert(conn: Db, meeting_id: UUID, fields: MeetingFields, *, is_demo: bool = False) -> bool:
    """False when the id exists already (the demo's fixed ids: loading again changes nothing)."""
    done: str = await conn.execute(
        """INSERT INTO meetings (id, kind, organisation_id, cop_id, title, description, time_zone,
                                 starts_at, ends_at, venue, step_free, join_url, capacity,
                                 recording_url, decision_id, is_demo)
           VALUES ($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb, $7, $8, $9, $10, $11, $12, $13, $14,
                   $15, $16)
           ON CONFLICT (id) DO NOTHING""",
        meeting_id,
        *_columns(fields),
        is_demo,
    )
    return done.endswith(" 1")


async def update(conn: DbConnection, meeting_id: UUID, fields: MeetingFields) -> int:
    """Change a meeting the caller has locked; its new sequence (one more than before)."""
    sequence: int = await conn.fetchval(
        """UPDATE meetings SET kind = $2, organisation_id = $3, cop_id = $4, title = $5::text::jsonb,
                               description = $6::text::jsonb, time_zone = $7, starts_at = $8, ends_at = $9,
                               venue = $10, step_free = $11, join_url = $12, capacity = $13,
                               recording_url = $14, decision_id = $15, sequence = sequence + 1,
                               updated_at = clock_timestamp()
           WHERE id = $1 RETURNING sequence""",
        meeting_id,
        *_columns(fields),
    )
    return sequence


async def cancel(conn: DbConnection, meeting_id: UUID) -> asyncpg.Record:
    """Cancel a meeting the caller has locked: its new sequence and when."""
    row = await conn.fetchrow(
        """UPDATE meetings SET status = 'cancelled', sequence = sequence + 1,
                               cancelled_at = clock_timestamp(), updated_at = clock_timestamp()
           WHERE id = $1 RETURNING sequence, cancelled_at""",
        meeting_id,
    )
    assert row is not None  # locked by the caller
    return row


# Registrations

_REGISTRATION = """SELECT r.id, r.meeting_id, r.person_id, r.display_name, r.email, r.phone, r.language,
                          r.status, r.needs, r.interpretation, r.registered_at, r.confirmed_at,
                          r.cancelled_at, r.attended_at,
                          (SELECT count(*) FROM meeting_registrations w
                           WHERE w.meeting_id = r.meeting_id AND w.status = 'waitlisted'
                             AND w.position <= r.position) AS waiting_position,
                          count(*) OVER () AS total
                   FROM meeting_registrations r"""


async def find_person(conn: DbConnection, email: str | None, phone: str | None) -> UUID | None:
    """The person registered with this e-mail address (ignoring case), else with this phone."""
    found: UUID | None = await conn.fetchval(
        """SELECT id FROM people
           WHERE ($1::text IS NOT NULL AND lower(email) = lower($1))
              OR ($1::text IS NULL AND $2::text IS NOT NULL AND phone = $2)
           ORDER BY registered_at LIMIT 1""",
        email,
        phone,
    )
    return found


async def insert_registration(
    conn: DbConnection,
    registration_id: UUID,
    meeting_id: UUID,
    person_id: UUID,
    token_hash: bytes,
    fields: RegistrationFields,
    status: str,
) -> asyncpg.Record:
    """The new registration as ``registration`` reads it."""
    await conn.execute(
        """INSERT INTO meeting_registrations (id, meeting_id, person_id, token_hash, display_name, email,
                                              phone, language, status, needs, interpretation,
                                              confirmed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                   CASE WHEN $9 = 'confirmed' THEN clock_timestamp() END)""",
        registration_id,
        meeting_id,
        person_id,
        token_hash,
        fields.display_name,
        fields.email,
        fields.phone,
        fields.language,
        status,
        list(fields.needs),
        fields.interpretation,
    )
    row = await registration(conn, registration_id)
    assert row is not None  # written a moment ago in this transaction
    return row


async def registration(conn: Db, registration_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_REGISTRATION} WHERE r.id = $1", registration_id)
    return row


async def registration_by_token(conn: Db, token_hash: bytes) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_REGISTRATION} WHERE r.token_hash = $1", token_hash)
    return row


async def lock_registration(conn: DbConnection, registration_id: UUID) -> str | None:
    """The registration's status, locked (after its meeting: see the module's note)."""
    status: str | None = await conn.fetchval(
        "SELECT status FROM meeting_registrations WHERE id = $1 FOR UPDATE", registration_id
    )
    return status


async def cancel_registration(conn: DbConnection, registration_id: UUID) -> None:
    await conn.execute(
        """UPDATE meeting_registrations SET status = 'cancelled', cancelled_at = clock_timestamp()
           WHERE id = $1""",
        registration_id,
    )


async def change_registration(conn: DbConnection, registration_id: UUID, change: RegistrationChange) -> None:
    await conn.execute(
        "UPDATE meeting_registrations SET language = $2, needs = $3, interpretation = $4 WHERE id = $1",
        registration_id,
        change.language,
        list(change.needs),
        change.interpretation,
    )


async def promote(conn: DbConnection, meeting_id: UUID, seats: int) -> list[UUID]:
    """The first ``seats`` of the waitlist given a seat, in the order they registered."""
    if seats <= 0:
        return []
    rows = await conn.fetch(
        """UPDATE meeting_registrations SET status = 'confirmed', confirmed_at = clock_timestamp()
           WHERE id IN (SELECT id FROM meeting_registrations
                        WHERE meeting_id = $1 AND status = 'waitlisted'
                        ORDER BY position LIMIT $2 FOR UPDATE)
           RETURNING id, position""",
        meeting_id,
        seats,
    )
    return [row["id"] for row in sorted(rows, key=lambda row: row["position"])]


async def registrations(
    conn: Db, meeting_id: UUID, search: str, offset: int, *, limit: int = PAGE_SIZE
) -> list[asyncpg.Record]:
    """A page of a meeting's registrations by name: seated first, then the waitlist in its
    order, then the cancelled."""
    return await conn.fetch(
        f"""{_REGISTRATION} WHERE r.meeting_id = $1 AND r.display_name ILIKE $2
            ORDER BY array_position(ARRAY['confirmed', 'waitlisted', 'cancelled'], r.status), r.position
            OFFSET $3 LIMIT $4""",
        meeting_id,
        _like(search),
        offset,
        limit,
    )


async def needs_of(conn: Db, meeting_id: UUID) -> list[asyncpg.Record]:
    """Each registration's status, access needs and interpretation, for the host's summary."""
    return await conn.fetch(
        """SELECT status, needs, interpretation FROM meeting_registrations
           WHERE meeting_id = $1 AND status <> 'cancelled'""",
        meeting_id,
    )


async def record_attendance(
    conn: DbConnection, meeting_id: UUID, attended: Sequence[UUID], shown: Sequence[UUID]
) -> list[asyncpg.Record]:
    """Of the registrations ``shown`` on the check-in list, mark those in ``attended`` as come
    (kept when they were already) and unmark the rest (a tick undone); the newly come."""
    await conn.execute(
        """UPDATE meeting_registrations SET attended_at = NULL
           WHERE meeting_id = $1 AND id = ANY($2::uuid[]) AND NOT id = ANY($3::uuid[])
             AND attended_at IS NOT NULL""",
        meeting_id,
        list(shown),
        list(attended),
    )
    return await conn.fetch(
        """UPDATE meeting_registrations SET attended_at = clock_timestamp()
           WHERE meeting_id = $1 AND id = ANY($2::uuid[]) AND attended_at IS NULL
             AND status = 'confirmed'
           RETURNING id, person_id, attended_at""",
        meeting_id,
        list(attended),
    )


async def seated_of(conn: DbConnection, person_id: UUID) -> list[asyncpg.Record]:
    """The meetings a person holds a seat at, for freeing them when the person is erased."""
    return await conn.fetch(
        """SELECT DISTINCT r.meeting_id FROM meeting_registrations r JOIN meetings m ON m.id = r.meeting_id
           WHERE r.person_id = $1 AND r.status = 'confirmed' AND m.status = 'scheduled'
           ORDER BY r.meeting_id""",
        person_id,
    )


async def drop_registrations_of(conn: DbConnection, person_id: UUID) -> None:
    await conn.execute("DELETE FROM meeting_registrations WHERE person_id = $1", person_id)


def texts(raw: str) -> dict[str, str]:
    """A title or description as read (jsonb as text), without the languages left blank."""
    parsed: dict[str, str] = json.loads(raw)
    return parsed
