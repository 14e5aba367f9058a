"""Who responded to a campaign: surveys' ``response.submitted`` counted per campaign, by where the
respondent is (region and ZIP code) and by the band of each demographic answer (migration 0011),
and the reads the campaign's reach is made of.

Counted once per event: the consumer writes the event's inbox row in the same transaction as the
counts, so a redelivered event is seen there and adds nothing. A response to a survey linked to
no campaign is not counted here."""

from collections.abc import Mapping, Sequence
from uuid import UUID

from services.engagement.campaigns.models import Audience
from services.engagement.community.store import Db
from services.engagement.regions.publishing import newest_figures
from shared.consumer import BatchHandler, Subscription
from shared.contracts import Envelope, ResponseSubmitted
from shared.db import DbConnection
from shared.demographics import CATALOGUE, TOTAL, Dimension


def band_of(dimension: str, chosen: Sequence[str]) -> str | None:
    """The band a response counts in for a dimension (None: not answered, or not in its bands).
    Race and ethnicity are counted as the Census counts people, one band each: Hispanic or Latino
    of any race; otherwise two or more races when several were chosen; otherwise the one."""
    try:
        spec = CATALOGUE[Dimension(dimension)]
    except ValueError:
        return None
    known = sorted({band for band in chosen if band in {b.code for b in spec.bands}})
    if spec.dimension is Dimension.RACE_ETHNICITY:
        if "hispanic_latino" in known:
            return "hispanic_latino"
        if len(known) > 1:
            return "two_or_more"
    return known[0] if len(known) == 1 else None


def zip_of(postal_code: str | None) -> str | None:
    """The five-digit ZIP code a postal code begins with (ZIP+4 too), if it does."""
    if postal_code is None or len(postal_code) < 5 or not postal_code[:5].isdigit():
        return None
    return postal_code[:5]


async def on_responses_submitted(
    conn: DbConnection, events: Sequence[tuple[ResponseSubmitted, Envelope]]
) -> None:
    counted = [event for event, _ in events if event.campaign_id is not None]
    if not counted:
        return
    await conn.execute(
        """INSERT INTO campaign_responses AS c (campaign_id, region_id, zip, responses)
           SELECT campaign_id, region_id, zip, count(*)
           FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS r (campaign_id, region_id, zip)
           GROUP BY campaign_id, region_id, zip
           ON CONFLICT ON CONSTRAINT campaign_responses_cell
           DO UPDATE SET responses = c.responses + EXCLUDED.responses""",
        [e.campaign_id for e in counted],
        [e.region_id for e in counted],
        [zip_of(e.postal_code) for e in counted],
    )
    bands = [
        (e.campaign_id, dimension, band)
        for e in counted
        for dimension, chosen in e.demographics.items()
        if (band := band_of(dimension, chosen)) is not None
    ]
    await conn.execute(
        """INSERT INTO campaign_response_bands AS c (campaign_id, dimension, band, responses)
           SELECT campaign_id, dimension, band, count(*)
           FROM unnest($1::uuid[], $2::text[], $3::text[]) AS r (campaign_id, dimension, band)
           GROUP BY campaign_id, dimension, band
           ON CONFLICT (campaign_id, dimension, band)
           DO UPDATE SET responses = c.responses + EXCLUDED.responses""",
        [campaign_id for campaign_id, _, _ in bands],
        [dimension for _, dimension, _ in bands],
        [band for _, _, band in bands],
    )


RESPONSES = Subscription("engagement.responses", {ResponseSubmitted: BatchHandler(on_responses_submitted)})


async def responded(conn: Db, campaign_id: UUID) -> int:
    total: int = await conn.fetchval(
        "SELECT coalesce(sum(responses), 0) FROM campaign_responses WHERE campaign_id = $1", campaign_id
    )
    return total


async def responded_by_region(conn: Db, campaign_id: UUID, region_ids: Sequence[UUID]) -> dict[UUID, int]:
    """The responses in each region: placed in it or in a region inside it, or from a ZIP code of
    a ZIP region inside it (as a person is in a region: campaigns/store.py)."""
    rows = await conn.fetch(
        """WITH RECURSIVE inside (root, id) AS (
               SELECT id, id FROM regions WHERE id = ANY($2::uuid[])
               UNION
               SELECT inside.root, r.id FROM regions r JOIN inside ON r.parent_id = inside.id),
           zips (root, zip) AS (
               SELECT inside.root, substring(r.geo_id FROM 'US([0-9]{5})$')
               FROM inside JOIN regions r ON r.id = inside.id WHERE r.kind = 'zip')
           SELECT roots.root AS region_id,
                  (SELECT coalesce(sum(c.responses), 0) FROM campaign_responses c
                   WHERE c.campaign_id = $1
                     AND (c.region_id IN (SELECT id FROM inside WHERE inside.root = roots.root)
                          OR c.zip IN (SELECT zip FROM zips WHERE zips.root = roots.root))) AS responded
           FROM (SELECT DISTINCT root FROM inside) roots""",
        campaign_id,
        list(region_ids),
    )
    return {r["region_id"]: r["responded"] for r in rows}


async def responded_by_band(conn: Db, campaign_id: UUID) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(
        "SELECT dimension, band, responses FROM campaign_response_bands WHERE campaign_id = $1", campaign_id
    )
    return {(r["dimension"], r["band"]): r["responses"] for r in rows}


async def population(conn: Db, audience: Audience) -> Mapping[tuple[str, str], int]:
    """The audience's population per (dimension, band): the newest figures of its regions and of
    the ZIP regions of its ZIP codes, each counted once: a region inside another of them is in
    that one's figures already. A region without figures of a dimension adds nothing to it."""
    rows = await conn.fetch(
        """WITH RECURSIVE chosen AS (
               SELECT id FROM regions
               WHERE id = ANY($1::uuid[])
                  OR (kind = 'zip' AND substring(geo_id FROM 'US([0-9]{5})$') = ANY($2::text[]))),
           above (start, id) AS (
               SELECT r.id, r.parent_id FROM regions r JOIN chosen USING (id) WHERE r.parent_id IS NOT NULL
               UNION
               SELECT above.start, r.parent_id FROM above JOIN regions r ON r.id = above.id
               WHERE r.parent_id IS NOT NULL)
           SELECT id FROM chosen
           WHERE id NOT IN (SELECT start FROM above WHERE above.id IN (SELECT id FROM chosen))""",
        list(audience.region_ids),
        list(audience.zip_codes),
    )
    summed: dict[tuple[str, str], int] = {}
    for f in await newest_figures(conn, [r["id"] for r in rows]):
        if f["band"] != TOTAL:
            key = (f["dimension"], f["band"])
            summed[key] = summed.get(key, 0) + f["estimate"]
    return summed
