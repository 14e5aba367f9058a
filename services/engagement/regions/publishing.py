"""Announcing regions to the services that compare people with the population (surveys):
``region.baselines_published`` with a region's name, parent, ZIP codes (those of the ZIP regions
inside it, however deep, and its own if it is one) and whole baseline, through the outbox in the
transaction that changes them.

A change to one region can change others: a ZIP region moved, added or renamed into a ZIP region
changes the ZIP lists of every region above it, old parents' and new. So a writer describes the
regions it touches and all their ancestors before its change and again after it, and every
description that differs is published (``announcing``). Nothing that did not change is announced
again: loading the demo a second time publishes nothing.

A region's baseline is, per dimension, the figures of its newest source (the latest year, then
the table's code): one table's bands and total together, never a band of one year beside the
total of another."""

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg

from services.engagement.community.store import Db
from shared.contracts import BaselineFigure, RegionBaselinesPublished
from shared.db import DbConnection
from shared.outbox import Emission, emit_many

PRODUCER = "engagement"

# The regions asked for and every region above them; each one's ZIP codes, from the ZIP regions
# below it (itself included). Grouped, not a subquery per region: an import describes thousands.
_DESCRIBED = """WITH RECURSIVE up (id, parent_id) AS (
                    SELECT id, parent_id FROM regions WHERE id = ANY($1::uuid[])
                    UNION
                    SELECT r.id, r.parent_id FROM regions r JOIN up ON r.id = up.parent_id),
                down (root, id) AS (
                    SELECT id, id FROM up
                    UNION
                    SELECT down.root, r.id FROM regions r JOIN down ON r.parent_id = down.id),
                zips (root, zip_codes) AS (
                    SELECT down.root,
                           array_agg(DISTINCT substring(z.geo_id FROM 'US([0-9]{5})$')
                                     ORDER BY substring(z.geo_id FROM 'US([0-9]{5})$'))
                    FROM down JOIN regions z ON z.id = down.id
                    WHERE z.kind = 'zip' AND z.geo_id ~ 'US[0-9]{5}$'
                    GROUP BY down.root)
                SELECT r.id, r.name, r.kind, r.parent_id, coalesce(zips.zip_codes, '{}') AS zip_codes
                FROM regions r JOIN (SELECT DISTINCT id FROM up) found USING (id)
                LEFT JOIN zips ON zips.root = r.id"""

_FIGURES = """WITH newest AS (
                  SELECT DISTINCT ON (region_id, dimension) region_id, dimension, source_table, source_year
                  FROM baselines WHERE region_id = ANY($1::uuid[])
                  ORDER BY region_id, dimension, source_year DESC, source_table)
              SELECT b.region_id, b.dimension, b.band, b.estimate
              FROM baselines b JOIN newest USING (region_id, dimension, source_table, source_year)
              JOIN baseline_bands bands USING (dimension, band)
              ORDER BY b.region_id, b.dimension, bands.position"""


async def newest_figures(conn: Db, region_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """Each region's baseline: (region_id, dimension, band, estimate), total first in each."""
    return await conn.fetch(_FIGURES, list(region_ids))


async def described(conn: DbConnection, region_ids: Collection[UUID]) -> dict[UUID, RegionBaselinesPublished]:
    """The regions (those that exist) and all above them, as their event says they now are."""
    rows = await conn.fetch(_DESCRIBED, list(region_ids))
    figures: dict[UUID, list[BaselineFigure]] = {}
    for f in await newest_figures(conn, [r["id"] for r in rows]):
        figures.setdefault(f["region_id"], []).append(
            BaselineFigure(dimension=f["dimension"], band=f["band"], estimate=f["estimate"])
        )
    return {
        r["id"]: RegionBaselinesPublished(
            region_id=r["id"],
            name=r["name"],
            kind=r["kind"],
            parent_id=r["parent_id"],
            zip_codes=tuple(r["zip_codes"]),
            figures=tuple(figures.get(r["id"], ())),
        )
        for r in rows
    }


def changed(
    before: dict[UUID, RegionBaselinesPublished], after: dict[UUID, RegionBaselinesPublished]
) -> list[RegionBaselinesPublished]:
    """The descriptions that are new or differ, in a stable order (by region id)."""
    return [after[i] for i in sorted(after) if before.get(i) != after[i]]


@asynccontextmanager
async def announcing(
    conn: DbConnection,
    region_ids: Collection[UUID],
    *,
    correlation_id: str | None = None,
    actor: str | None = None,
) -> AsyncIterator[set[UUID]]:
    """Around a change to ``region_ids`` (inside its transaction): publish every region it
    changed, itself or above. Yields the set of touched ids, to which the change adds the
    regions it creates. If the change raises, nothing is published (nor, the transaction being
    rolled back, written)."""
    touched = set(region_ids)
    before = await described(conn, touched)
    yield touched
    after = await described(conn, touched | before.keys())
    events = changed(before, after)
    if events:
        await emit_many(
            conn,
            [Emission([event], f"region:{event.region_id}", correlation_id, actor=actor) for event in events],
            producer=PRODUCER,
        )
