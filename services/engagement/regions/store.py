"""Regions' and baselines' SQL (schema engagement; search_path is set by the caller)."""

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

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
