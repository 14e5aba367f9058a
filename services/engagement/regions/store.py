"""Regions' and baselines' SQL (schema engagement; search_path is set by the caller)."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from services.engagement.community.store import Db, _like
from services.engagement.regions.baselines import Baselines, RegionFigures
from shared.db import DbConnection


class StoredFigure(BaseModel, frozen=True):
    dimension: str
    band: str
    estimate: int
    margin_of_error: int | None
    source_table: str
    source_year: int
    imported_at: datetime


async def lock_imports(conn: DbConnection) -> None:
    """Imports one at a time (inside the caller's transaction): two replacing the same figures
    at once would otherwise collide on the key instead of one following the other."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('civic.regions.import'))")


async def upsert_regions(
    conn: DbConnection, regions: Sequence[RegionFigures], *, is_demo: bool = False
) -> tuple[dict[str, UUID], int]:
    """Each region by its GEO_ID, created if new (the name follows the source's); returns
    GEO_ID -> id and how many were created. Whether a region is demo data is decided when it
    is created."""
    rows = await conn.fetch(
        """INSERT INTO regions (kind, name, geo_id, is_demo)
           SELECT kind, name, geo_id, $4
           FROM unnest($1::text[], $2::text[], $3::text[]) AS r (kind, name, geo_id)
           ON CONFLICT (geo_id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind
           RETURNING geo_id, id, xmax = 0 AS created""",
        [r.kind for r in regions],
        [r.name for r in regions],
        [r.geo_id for r in regions],
        is_demo,
    )
    return {r["geo_id"]: r["id"] for r in rows}, sum(r["created"] for r in rows)


async def replace_figures(
    conn: DbConnection, baselines: Baselines, regions: Sequence[RegionFigures], ids: dict[str, UUID]
) -> int:
    """The figures of ``regions`` from this table and year, instead of any imported before
    (a band the new file no longer gives does not linger). Returns how many were written."""
    region_ids = [ids[r.geo_id] for r in regions]
    await conn.execute(
        """DELETE FROM baselines
           WHERE region_id = ANY($1::uuid[]) AND source_table = $2 AND source_year = $3""",
        region_ids,
        baselines.table,
        baselines.year,
    )
    figures = [(ids[r.geo_id], f) for r in regions for f in r.figures]
    await conn.execute(
        """INSERT INTO baselines (region_id, dimension, band, estimate, margin_of_error,
                                  source_table, source_year)
           SELECT region_id, $5, band, estimate, margin, $6, $7
           FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[])
                AS f (region_id, band, estimate, margin)""",
        [region_id for region_id, _ in figures],
        [f.band for _, f in figures],
        [f.estimate for _, f in figures],
        [f.margin for _, f in figures],
        baselines.dimension.value,
        baselines.table,
        baselines.year,
    )
    return len(figures)


async def ensure_group(
    conn: DbConnection, region_id: UUID, kind: str, name: str, *, is_demo: bool = False
) -> None:
    """A region an organizer (or the demo) defines, without a Census GEO_ID, under a fixed id."""
    await conn.execute(
        """INSERT INTO regions (id, kind, name, is_demo) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name""",
        region_id,
        kind,
        name,
        is_demo,
    )


async def nest(conn: DbConnection, parent_id: UUID, geo_ids: Sequence[str]) -> int:
    """Put the regions with these GEO_IDs inside ``parent_id``; returns how many there were."""
    done = await conn.execute(
        "UPDATE regions SET parent_id = $1 WHERE geo_id = ANY($2::text[])", parent_id, list(geo_ids)
    )
    return int(done.split()[-1])


async def find_region(conn: DbConnection, geo_id: str) -> UUID | None:
    found: UUID | None = await conn.fetchval("SELECT id FROM regions WHERE geo_id = $1", geo_id)
    return found


async def figures_of(conn: DbConnection, region: UUID) -> list[StoredFigure]:
    """A region's figures in the catalogue's order (total first)."""
    rows = await conn.fetch(
        """SELECT b.dimension, b.band, b.estimate, b.margin_of_error, b.source_table, b.source_year,
                  b.imported_at
           FROM baselines b JOIN baseline_bands USING (dimension, band)
           WHERE b.region_id = $1
           ORDER BY b.dimension, b.source_year, baseline_bands.position""",
        region,
    )
    return [StoredFigure(**dict(r)) for r in rows]


# The console's and the API's reads: a region with its parent's name and the dimensions it has
# figures in (what a list shows of each).
_REGION = """SELECT r.id, r.kind, r.name, r.parent_id, p.name AS parent_name, r.geo_id, r.is_demo,
                    r.created_at, count(*) OVER () AS total,
                    ARRAY(SELECT DISTINCT b.dimension FROM baselines b WHERE b.region_id = r.id
                          ORDER BY b.dimension) AS dimensions
             FROM regions r LEFT JOIN regions p ON p.id = r.parent_id"""


async def regions(conn: Db, search: str, offset: int, limit: int) -> list[asyncpg.Record]:
    """Regions whose name holds ``search`` (case-blind, % and _ as themselves), by name."""
    return await conn.fetch(
        f"{_REGION} WHERE r.name ILIKE $1 ORDER BY lower(r.name), r.id OFFSET $2 LIMIT $3",
        _like(search),
        offset,
        limit,
    )


async def region(conn: Db, region_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_REGION} WHERE r.id = $1", region_id)
    return row


async def inside(conn: Db, region_id: UUID, limit: int) -> list[asyncpg.Record]:
    """The regions directly inside one, by name, with how many there are in all."""
    return await conn.fetch(
        """SELECT id, kind, name, count(*) OVER () AS total FROM regions WHERE parent_id = $1
           ORDER BY lower(name), id LIMIT $2""",
        region_id,
        limit,
    )


async def insert_region(
    conn: DbConnection, region_id: UUID, kind: str, name: str, parent_id: UUID | None
) -> None:
    await conn.execute(
        "INSERT INTO regions (id, kind, name, parent_id) VALUES ($1, $2, $3, $4)",
        region_id,
        kind,
        name,
        parent_id,
    )


async def update_region(
    conn: DbConnection, region_id: UUID, kind: str, name: str, parent_id: UUID | None
) -> bool:
    """False when there is no such region. The trigger of migration 0003 refuses a parent that
    would put the region inside itself (check_violation)."""
    done: str = await conn.execute(
        "UPDATE regions SET kind = $2, name = $3, parent_id = $4 WHERE id = $1",
        region_id,
        kind,
        name,
        parent_id,
    )
    return done.endswith(" 1")


async def ensure_within(
    conn: DbConnection, places: Sequence[tuple[UUID, str, str, str]], *, is_demo: bool = False
) -> int:
    """Regions drawn by hand (no GEO_ID) under fixed ids, each inside the region with the GEO_ID
    given, in one statement: (id, kind, name, parent's GEO_ID). A place whose parent is not
    there is left out. Returns how many were new."""
    rows = await conn.fetch(
        """INSERT INTO regions (id, kind, name, parent_id, is_demo)
           SELECT p.id, p.kind, p.name, parent.id, $5
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS p (id, kind, name, parent_geo_id)
           JOIN regions parent ON parent.geo_id = p.parent_geo_id
           ON CONFLICT (id) DO UPDATE
               SET kind = EXCLUDED.kind, name = EXCLUDED.name, parent_id = EXCLUDED.parent_id
           RETURNING xmax = 0 AS created""",
        [p[0] for p in places],
        [p[1] for p in places],
        [p[2] for p in places],
        [p[3] for p in places],
        is_demo,
    )
    return sum(r["created"] for r in rows)


async def ids_of(conn: Db, geo_ids: Sequence[str]) -> dict[str, UUID]:
    """The regions with these GEO_IDs (those there are), by GEO_ID."""
    rows = await conn.fetch("SELECT geo_id, id FROM regions WHERE geo_id = ANY($1::text[])", list(geo_ids))
    return {r["geo_id"]: r["id"] for r in rows}


async def place_people(conn: DbConnection, people: Sequence[tuple[UUID, UUID, Sequence[str]]]) -> None:
    """People's own region and tags, as an import gives them (migration 0008), in one statement:
    (person id, region id, tags)."""
    await conn.execute(
        """UPDATE people SET region_id = p.region_id, tags = string_to_array(p.tags, ' ')
           FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS p (person_id, region_id, tags)
           WHERE people.id = p.person_id""",
        [person_id for person_id, _, _ in people],
        [region_id for _, region_id, _ in people],
        [" ".join(tags) for _, _, tags in people],
    )
