"""SQL for residents' sign-in links, their sessions, and what their page shows and changes."""

from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg

from services.engagement.residents.details import Details
from shared.db import DbConnection

Db = DbConnection | asyncpg.Pool


async def person_to_link(conn: Db, email: str) -> asyncpg.Record | None:
    """The person registered with this address (erased people have no row, so no link)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, display_name, email, language FROM people WHERE lower(email) = lower($1)", email
    )
    return row


async def insert_link(conn: DbConnection, token_hash: bytes, person_id: UUID, valid_for: timedelta) -> Any:
    """Record a link; returns until when it works."""
    return await conn.fetchval(
        """INSERT INTO resident_links (token_hash, person_id, expires_at)
           VALUES ($1, $2, clock_timestamp() + $3::interval) RETURNING expires_at""",
        token_hash,
        person_id,
        valid_for,
    )


async def use_link(conn: DbConnection, token_hash: bytes) -> UUID | None:
    """Mark an unused, unexpired link used; its person, or None (then nothing changes)."""
    person_id: UUID | None = await conn.fetchval(
        """UPDATE resident_links SET used_at = clock_timestamp()
           WHERE token_hash = $1 AND used_at IS NULL AND expires_at > clock_timestamp()
           RETURNING person_id""",
        token_hash,
    )
    return person_id


async def link_state(conn: Db, token_hash: bytes) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT used_at IS NOT NULL AS used, expires_at <= clock_timestamp() AS expired
           FROM resident_links WHERE token_hash = $1""",
        token_hash,
    )
    return row


async def start_session(
    conn: DbConnection, session_hash: bytes, person_id: UUID, lifetime: timedelta
) -> None:
    await conn.execute(
        """INSERT INTO resident_sessions (session_hash, person_id, expires_at)
           VALUES ($1, $2, clock_timestamp() + $3::interval)""",
        session_hash,
        person_id,
        lifetime,
    )


async def session_person(conn: Db, session_hash: bytes) -> UUID | None:
    person_id: UUID | None = await conn.fetchval(
        "SELECT person_id FROM resident_sessions WHERE session_hash = $1 AND expires_at > clock_timestamp()",
        session_hash,
    )
    return person_id


async def end_session(conn: Db, session_hash: bytes) -> None:
    await conn.execute("DELETE FROM resident_sessions WHERE session_hash = $1", session_hash)


async def forget_expired(conn: Db) -> None:
    """Links and sessions that no longer open anything."""
    await conn.execute("DELETE FROM resident_links WHERE expires_at < clock_timestamp()")
    await conn.execute("DELETE FROM resident_sessions WHERE expires_at < clock_timestamp()")


async def person(conn: Db, person_id: UUID) -> dict[str, Any] | None:
    """The person's whole row, whatever columns it has grown (the page and the download read
    it), with the name of their region: the one recorded, else their ZIP's."""
    row = await conn.fetchrow(
        """SELECT to_jsonb(p) AS person,
                  (SELECT r.name FROM regions r
                   WHERE r.id = (to_jsonb(p) ->> 'region_id')::uuid
                      OR r.geo_id = '860Z200US' || p.postal_code
                   ORDER BY r.id = (to_jsonb(p) ->> 'region_id')::uuid DESC NULLS LAST LIMIT 1) AS region
           FROM people p WHERE p.id = $1""",
        person_id,
    )
    if row is None:
        return None
    found: dict[str, Any] = row["person"]
    found["region"] = row["region"]
    return found


async def update_details(conn: DbConnection, person_id: UUID, details: Details) -> asyncpg.Record | None:
    """The person's consent to be contacted and the change's time, for its event, and the phone
    number they had before (locked, so a concurrent change is not missed); None if the person is
    gone (erased meanwhile)."""
    return await conn.fetchrow(
        """UPDATE people p SET display_name = $2, phone = $3, language = $4, postal_code = $5
           FROM (SELECT id, phone FROM people WHERE id = $1 FOR UPDATE) AS was
           WHERE p.id = was.id
           RETURNING p.consent_to_contact, clock_timestamp() AS changed_at, was.phone AS phone_before""",
        person_id,
        details.display_name,
        details.phone,
        details.language,
        details.postal_code,
    )


async def links_and_confirmations(conn: Db, person_id: UUID) -> dict[str, list[dict[str, Any]]]:
    """When links were sent to the person and used (never their tokens' hashes)."""
    links = await conn.fetch(
        "SELECT expires_at, used_at FROM resident_links WHERE person_id = $1 ORDER BY expires_at", person_id
    )
    confirmations = await conn.fetch(
        """SELECT expires_at, confirmed_at FROM consent_confirmations
           WHERE person_id = $1 ORDER BY expires_at""",
        person_id,
    )
    return {
        "sign_in_links": [dict(r) for r in links],
        "consent_confirmations": [dict(r) for r in confirmations],
    }


async def sessions(conn: Db, person_id: UUID) -> list[dict[str, Any]]:
    """When the person's own sessions end (never their hashes)."""
    rows = await conn.fetch(
        "SELECT expires_at FROM resident_sessions WHERE person_id = $1 ORDER BY expires_at", person_id
    )
    return [dict(r) for r in rows]


async def meeting_registrations(conn: Db, person_id: UUID) -> list[dict[str, Any]]:
    """Each registration with its meeting's title and time (never the link's token hash)."""
    rows = await conn.fetch(
        """SELECT to_jsonb(r) - 'token_hash' - 'person_id'
                  || jsonb_build_object('meeting_title', m.title, 'starts_at', m.starts_at,
                                        'meeting_status', m.status) AS registration
           FROM meeting_registrations r JOIN meetings m ON m.id = r.meeting_id
           WHERE r.person_id = $1 ORDER BY r.registered_at, r.id""",
        person_id,
    )
    return [r["registration"] for r in rows]


async def competition_applications(conn: Db, person_id: UUID) -> list[dict[str, Any]]:
    """The applications the person is the contact of, with their decision's title."""
    rows = await conn.fetch(
        """SELECT to_jsonb(a) - 'contact_person_id' || jsonb_build_object('decision_title', d.title)
                  AS application
           FROM competition_applications a JOIN decisions d ON d.id = a.decision_id
           WHERE a.contact_person_id = $1 ORDER BY a.received_at, a.id""",
        person_id,
    )
    return [r["application"] for r in rows]
