"""Engagement's regions as surveys needs them: where a ZIP code is (answering places a response
by it) and each region's population per dimension and band (results compare respondents with it).

``region.baselines_published`` describes a region whole, so it replaces what was held for the
region. Events of one region can arrive out of order (a retry comes back seconds later), so one
older than the last applied is refused (shared/ordering.py); an import of thousands of regions
arrives as thousands of events, applied a run at a time: each one's order checked, then three
statements for the whole run."""

from collections.abc import Sequence
from uuid import UUID

from shared.consumer import BatchHandler, Subscription
from shared.contracts import Envelope, RegionBaselinesPublished
from shared.db import DbConnection
from shared.ordering import newer_than_applied

PROJECTION = "surveys.regions"


async def on_regions_published(
    conn: DbConnection, events: Sequence[tuple[RegionBaselinesPublished, Envelope]]
) -> None:
    newest: dict[UUID, RegionBaselinesPublished] = {}
    for event, envelope in events:
        if await newer_than_applied(conn, PROJECTION, envelope):
            newest[event.region_id] = event  # a later one of the run replaces an earlier
    regions = list(newest.values())
    if not regions:
        return
    await conn.execute(
        """INSERT INTO regions (id, name, kind, parent_id, zip_codes)
           SELECT id, name, kind, parent_id, string_to_array(zip_codes, ' ')
           FROM unnest($1::uuid[], $2::text[], $5::text[], $3::uuid[], $4::text[])
                AS r (id, name, kind, parent_id, zip_codes)
           ON CONFLICT (id) DO UPDATE
               SET name = EXCLUDED.name, kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id,
                   zip_codes = EXCLUDED.zip_codes""",
        [r.region_id for r in regions],
        [r.name for r in regions],
        [r.parent_id for r in regions],
        [" ".join(r.zip_codes) for r in regions],
        [r.kind for r in regions],
    )
    await conn.execute(
        "DELETE FROM region_baselines WHERE region_id = ANY($1::uuid[])", [r.region_id for r in regions]
    )
    figures = [(r.region_id, f) for r in regions for f in r.figures]
    await conn.execute(
        """INSERT INTO region_baselines (region_id, dimension, band, estimate)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::numeric[])""",
        [region_id for region_id, _ in figures],
        [f.dimension for _, f in figures],
        [f.band for _, f in figures],
        [f.estimate for _, f in figures],
    )


REGIONS = Subscription("surveys.regions", {RegionBaselinesPublished: BatchHandler(on_regions_published)})
