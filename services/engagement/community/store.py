"""The SQL of organisations, CoPs, their members and requests to join. Lists are searched by a
case-blind substring of the name (or topic) and read a page at a time, with the total."""

from uuid import UUID

import asyncpg

from services.engagement.community.models import PAGE_SIZE, CopFields, OrganisationFields
from shared.db import DbConnection

Db = DbConnection | asyncpg.Pool

_ORGANISATION = """SELECT o.id, o.name, o.kind, o.region_id, r.name AS region_name, o.is_demo, o.updated_at,
                          count(*) OVER () AS total
                   FROM organisations o LEFT JOIN regions r ON r.id = o.region_id"""
_COP = """SELECT c.id, c.topic, c.description, c.is_demo, c.updated_at, count(*) OVER () AS total,
                 (SELECT count(*) FROM cop_members m WHERE m.cop_id = c.id) AS members,
                 (SELECT count(*) FROM cop_join_requests j WHERE j.cop_id = c.id) AS pending_requests
          FROM cops c"""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def organisations(conn: Db, search: str, offset: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"{_ORGANISATION} WHERE o.name ILIKE $1 ORDER BY lower(o.name), o.id OFFSET $2 LIMIT $3",
        _like(search),
        offset,
        PAGE_SIZE,
    )


async def organisation(conn: Db, organisation_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_ORGANISATION} WHERE o.id = $1", organisation_id)
    return row


async def insert_organisation(
    conn: Db, organisation_id: UUID, fields: OrganisationFields, *, is_demo: bool = False
) -> bool:
    """False when the id exists already (the demo's fixed ids: loading again changes nothing)."""
    done: str = await conn.execute(
        """INSERT INTO organisations (id, name, kind, region_id, is_demo) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO NOTHING""",
        organisation_id,
        fields.name,
        fields.kind.value,
        fields.region_id,
        is_demo,
    )
    return done.endswith(" 1")


async def update_organisation(conn: Db, organisation_id: UUID, fields: OrganisationFields) -> bool:
    """False when there is no such organisation."""
    done: str = await conn.execute(
        """UPDATE organisations SET name = $2, kind = $3, region_id = $4, updated_at = clock_timestamp()
           WHERE id = $1""",
        organisation_id,
        fields.name,
        fields.kind.value,
        fields.region_id,
    )
    return done.endswith(" 1")


async def home_regions(conn: Db) -> list[asyncpg.Record]:
    """Regions an organisation can call home in a form's list: not single ZIPs or tracts, which
    an import brings by the thousand."""
    return await conn.fetch(
        "SELECT id, name FROM regions WHERE kind NOT IN ('zip', 'tract') ORDER BY name, id LIMIT 1000"
    )


async def cops(conn: Db, search: str, offset: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"{_COP} WHERE c.topic ILIKE $1 ORDER BY lower(c.topic), c.id OFFSET $2 LIMIT $3",
        _like(search),
        offset,
        PAGE_SIZE,
    )


async def cop(conn: Db, cop_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_COP} WHERE c.id = $1", cop_id)
    return row


async def insert_cop(conn: Db, cop_id: UUID, fields: CopFields, *, is_demo: bool = False) -> bool:
    done: str = await conn.execute(
        """INSERT INTO cops (id, topic, description, is_demo) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO NOTHING""",
        cop_id,
        fields.topic,
        fields.description,
        is_demo,
    )
    return done.endswith(" 1")


async def update_cop(conn: Db, cop_id: UUID, fields: CopFields) -> bool:
    done: str = await conn.execute(
        "UPDATE cops SET topic = $2, description = $3, updated_at = clock_timestamp() WHERE id = $1",
        cop_id,
        fields.topic,
        fields.description,
    )
    return done.endswith(" 1")


_MEMBER = """SELECT m.id, m.person_id, m.organisation_id, coalesce(p.display_name, o.name) AS name,
                    m.added_at, count(*) OVER () AS total
             FROM cop_members m
             LEFT JOIN people p ON p.id = m.person_id
             LEFT JOIN organisations o ON o.id = m.organisation_id
             WHERE m.cop_id = $1"""


async def members(conn: Db, cop_id: UUID, search: str, offset: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""{_MEMBER} AND coalesce(p.display_name, o.name) ILIKE $2
            ORDER BY lower(coalesce(p.display_name, o.name)), m.id OFFSET $3 LIMIT $4""",
        cop_id,
        _like(search),
        offset,
        PAGE_SIZE,
    )


async def member(conn: Db, cop_id: UUID, member_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_MEMBER} AND m.id = $2", cop_id, member_id)
    return row


async def add_member(
    conn: Db, member_id: UUID, cop_id: UUID, person_id: UUID | None, organisation_id: UUID | None
) -> UUID | None:
    """The new member's id; None when they are a member already. A person's request to join,
    made with their address, is settled by it."""
    added: UUID | None = await conn.fetchval(
        """WITH settled AS (
               DELETE FROM cop_join_requests
               WHERE cop_id = $2 AND lower(email) = (SELECT lower(email) FROM people WHERE id = $3))
           INSERT INTO cop_members (id, cop_id, person_id, organisation_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING id""",
        member_id,
        cop_id,
        person_id,
        organisation_id,
    )
    return added


async def remove_member(conn: Db, cop_id: UUID, member_id: UUID) -> bool:
    done: str = await conn.execute("DELETE FROM cop_members WHERE cop_id = $1 AND id = $2", cop_id, member_id)
    return done.endswith(" 1")


async def remove_person(conn: Db, cop_id: UUID, person_id: UUID) -> UUID | None:
    """The person's own membership gone; its id, or None when they were not a member."""
    removed: UUID | None = await conn.fetchval(
        "DELETE FROM cop_members WHERE cop_id = $1 AND person_id = $2 RETURNING id", cop_id, person_id
    )
    return removed


async def cops_of(conn: Db, person_id: UUID) -> list[asyncpg.Record]:
    """The CoPs a person is a member of, for their own page."""
    return await conn.fetch(
        """SELECT c.id, c.topic FROM cop_members m JOIN cops c ON c.id = m.cop_id
           WHERE m.person_id = $1 ORDER BY lower(c.topic), c.id LIMIT 200""",
        person_id,
    )


async def requests_of(conn: Db, person_id: UUID) -> list[asyncpg.Record]:
    """The CoPs a person asked to join and waits on: a request holds an address, not a person,
    so it is theirs by the address they registered with (as adding them settles it)."""
    return await conn.fetch(
        """SELECT c.id, c.topic, j.asked_at FROM cop_join_requests j JOIN cops c ON c.id = j.cop_id
           WHERE lower(j.email) = (SELECT lower(email) FROM people WHERE id = $1)
           ORDER BY lower(c.topic), c.id LIMIT 200""",
        person_id,
    )


async def person_by_email(conn: Db, email: str) -> UUID | None:
    found: UUID | None = await conn.fetchval("SELECT id FROM people WHERE lower(email) = lower($1)", email)
    return found


async def ask_to_join(conn: Db, request_id: UUID, cop_id: UUID, name: str, email: str) -> None:
    """Asking again with the same address changes nothing: one request per address and CoP."""
    await conn.execute(
        """INSERT INTO cop_join_requests (id, cop_id, name, email) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING""",
        request_id,
        cop_id,
        name,
        email,
    )


async def join_requests(conn: Db, cop_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, name, email, asked_at FROM cop_join_requests WHERE cop_id = $1
           ORDER BY asked_at, id LIMIT 200""",
        cop_id,
    )


async def dismiss_join_request(conn: Db, cop_id: UUID, request_id: UUID) -> bool:
    done: str = await conn.execute(
        "DELETE FROM cop_join_requests WHERE cop_id = $1 AND id = $2", cop_id, request_id
    )
    return done.endswith(" 1")
