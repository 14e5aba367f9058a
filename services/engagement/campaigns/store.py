"""The SQL of campaigns and their audiences. A person is in a region when their own region (an
import's) or their ZIP code's ZIP region (GEO_ID ...US<zip>) is inside it, however many levels
down; in an imported list when that import brought them. Erased people are no longer in
``people``, so no audience counts them."""

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.engagement.campaigns.models import PAGE_SIZE, Audience, CampaignFields, CampaignStatus
from services.engagement.community.store import Db, _like

_CAMPAIGN = """SELECT c.id, c.organisation_id, o.name AS organisation_name, c.title, c.goal, c.status,
                      json_build_object(
                          'region_ids', (SELECT coalesce(array_agg(region_id ORDER BY position), '{}')
                                         FROM campaign_regions WHERE campaign_id = c.id),
                          'zip_codes', c.zip_codes,
                          'cop_ids', (SELECT coalesce(array_agg(cop_id ORDER BY position), '{}')
                                      FROM campaign_cops WHERE campaign_id = c.id),
                          'tags', c.tags,
                          'import_ids', (SELECT coalesce(array_agg(import_id ORDER BY position), '{}')
                                         FROM campaign_import_lists WHERE campaign_id = c.id))::text
                          AS audience,
                      c.survey_ids, c.meeting_ids, c.decision_ids, c.is_demo, c.updated_at,
                      c.launched_at, c.closed_at, count(*) OVER () AS total
               FROM campaigns c JOIN organisations o ON o.id = c.organisation_id"""


async def campaigns(
    conn: Db, search: str, offset: int, organisations: Sequence[UUID] | None
) -> list[asyncpg.Record]:
    """A page of campaigns whose title holds ``search``: of ``organisations`` only, unless None."""
    return await conn.fetch(
        f"""{_CAMPAIGN} WHERE c.title ILIKE $1 AND ($2::uuid[] IS NULL OR c.organisation_id = ANY($2))
            ORDER BY lower(c.title), c.id OFFSET $3 LIMIT $4""",
        _like(search),
        None if organisations is None else list(organisations),
        offset,
        PAGE_SIZE,
    )


async def campaign(conn: Db, campaign_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_CAMPAIGN} WHERE c.id = $1", campaign_id)
    return row


async def lock(conn: Db, campaign_id: UUID) -> asyncpg.Record | None:
    """The campaign's organisation and status, locked until the transaction ends: a launch and
    an edit of one draft happen one after the other, never both from the same draft."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT organisation_id, status FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id
    )
    return row


async def insert(conn: Db, campaign_id: UUID, fields: CampaignFields, *, is_demo: bool = False) -> bool:
    """False when the id exists already (the demo's fixed id: loading again changes nothing)."""
    done: str = await conn.execute(
        """INSERT INTO campaigns (id, organisation_id, title, goal, zip_codes, tags, survey_ids,
                                  meeting_ids, decision_ids, is_demo)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING""",
        campaign_id,
        *_columns(fields),
        is_demo,
    )
    created = done.endswith(" 1")
    if created:
        await _set_audience(conn, campaign_id, fields.audience)
    return created


async def update(conn: Db, campaign_id: UUID, fields: CampaignFields) -> None:
    """Change a draft the caller has locked."""
    await conn.execute(
        """UPDATE campaigns SET organisation_id = $2, title = $3, goal = $4, zip_codes = $5, tags = $6,
                                survey_ids = $7, meeting_ids = $8, decision_ids = $9,
                                updated_at = clock_timestamp()
           WHERE id = $1""",
        campaign_id,
        *_columns(fields),
    )
    await _set_audience(conn, campaign_id, fields.audience)


def _columns(fields: CampaignFields) -> tuple[object, ...]:
    return (
        fields.organisation_id,
        fields.title,
        fields.goal,
        list(fields.audience.zip_codes),
        list(fields.audience.tags),
        list(fields.survey_ids),
        list(fields.meeting_ids),
        list(fields.decision_ids),
    )


async def _set_audience(conn: Db, campaign_id: UUID, audience: Audience) -> None:
    """The audience's regions, CoPs and imported lists, replaced: one that does not exist is a
    foreign key violation (campaign_regions_region_id_fkey, campaign_cops_cop_id_fkey,
    campaign_import_lists_import_id_fkey)."""
    await conn.execute("DELETE FROM campaign_regions WHERE campaign_id = $1", campaign_id)
    await conn.execute("DELETE FROM campaign_cops WHERE campaign_id = $1", campaign_id)
    await conn.execute("DELETE FROM campaign_import_lists WHERE campaign_id = $1", campaign_id)
    await conn.execute(
        """INSERT INTO campaign_regions (campaign_id, region_id, position)
           SELECT $1, region_id, position
           FROM unnest($2::uuid[]) WITH ORDINALITY AS r (region_id, position)""",
        campaign_id,
        list(audience.region_ids),
    )
    await conn.execute(
        """INSERT INTO campaign_cops (campaign_id, cop_id, position)
           SELECT $1, cop_id, position
           FROM unnest($2::uuid[]) WITH ORDINALITY AS c (cop_id, position)""",
        campaign_id,
        list(audience.cop_ids),
    )
    await conn.execute(
        """INSERT INTO campaign_import_lists (campaign_id, import_id, position)
           SELECT $1, import_id, position
           FROM unnest($2::uuid[]) WITH ORDINALITY AS i (import_id, position)""",
        campaign_id,
        list(audience.import_ids),
    )


async def set_status(conn: Db, campaign_id: UUID, status: CampaignStatus) -> None:
    """Move a campaign the caller has locked to ``status``, stamping when."""
    await conn.execute(
        """UPDATE campaigns
           SET status = $2, updated_at = clock_timestamp(),
               launched_at = CASE WHEN $2 = 'launched' THEN clock_timestamp() ELSE launched_at END,
               closed_at = CASE WHEN $2 = 'closed' THEN clock_timestamp() ELSE closed_at END
           WHERE id = $1""",
        campaign_id,
        status.value,
    )


# The audience's people: $1 regions, $2 ZIP codes, $3 CoPs, $4 tags, $5 imports. ``inside`` holds each of the
# regions (root) and every region within it; ``zips`` the ZIP codes of the ZIP regions among them.
_AUDIENCE = """WITH RECURSIVE inside (root, id) AS (
                   SELECT id, id FROM regions WHERE id = ANY($1::uuid[])
                   UNION
                   SELECT inside.root, r.id FROM regions r JOIN inside ON r.parent_id = inside.id),
               zips (root, zip) AS (
                   SELECT inside.root, substring(r.geo_id FROM 'US([0-9]{5})$')
                   FROM inside JOIN regions r ON r.id = inside.id WHERE r.kind = 'zip'),
               audience AS (
                   SELECT p.id, p.region_id, left(p.postal_code, 5) AS zip, p.consent_confirmed_at
                   FROM people p
                   WHERE left(p.postal_code, 5) IN (SELECT zip FROM zips UNION SELECT unnest($2::text[]))
                      OR p.region_id IN (SELECT id FROM inside)
                      OR EXISTS (SELECT 1 FROM cop_members m
                                 WHERE m.person_id = p.id AND m.cop_id = ANY($3::uuid[]))
                      OR p.tags && $4::text[]
                      OR p.import_id = ANY($5::uuid[]))"""
# Joined from constants only (every value is a bound parameter): ruff's S608 cannot tell.
_AUDIENCE_SIZE = (
    _AUDIENCE  # noqa: S608
    + """ SELECT count(*) AS people,
                 count(*) FILTER (WHERE consent_confirmed_at IS NOT NULL) AS consenting
          FROM audience"""
)
# Who the audience is, for its linked surveys to invite (listing.py): ids and languages only.
_AUDIENCE_MEMBERS = (
    _AUDIENCE  # noqa: S608
    + """ SELECT p.id AS person_id, p.language FROM audience JOIN people p USING (id) ORDER BY p.id"""
)
# The latest household total of a region's baselines: the income and tenure tables both count
# households.
_REGION_COUNTS = (
    _AUDIENCE  # noqa: S608
    + """ SELECT r.id AS region_id, r.name,
                 (SELECT count(*) FROM audience a
                  WHERE a.zip IN (SELECT zip FROM zips WHERE root = r.id)
                     OR a.region_id IN (SELECT id FROM inside WHERE root = r.id)) AS people,
                 (SELECT b.estimate FROM baselines b
                  WHERE b.region_id = r.id AND b.band = 'total'
                    AND b.dimension IN ('household_income', 'tenure')
                  ORDER BY b.source_year DESC, b.dimension LIMIT 1) AS households
          FROM unnest($1::uuid[]) WITH ORDINALITY AS chosen (id, position)
          JOIN regions r ON r.id = chosen.id
          ORDER BY chosen.position"""
)


def _audience_parameters(
    audience: Audience,
) -> tuple[list[UUID], list[str], list[UUID], list[str], list[UUID]]:
    return (
        list(audience.region_ids),
        list(audience.zip_codes),
        list(audience.cop_ids),
        list(audience.tags),
        list(audience.import_ids),
    )


async def audience_size(conn: Db, audience: Audience) -> asyncpg.Record:
    row = await conn.fetchrow(
        _AUDIENCE_SIZE,
        *_audience_parameters(audience),
    )
    assert row is not None  # an aggregate always answers
    return row


async def audience_members(conn: Db, audience: Audience) -> list[asyncpg.Record]:
    """The audience's people (person_id, language), by id: the erased are no longer in people."""
    return await conn.fetch(_AUDIENCE_MEMBERS, *_audience_parameters(audience))


async def region_counts(conn: Db, audience: Audience) -> list[asyncpg.Record]:
    """Each of the audience's regions, in its order: its audience people and its households."""
    return await conn.fetch(
        _REGION_COUNTS,
        *_audience_parameters(audience),
    )


# Who of the audience registered for the campaign's linked meetings ($6: the campaign): holding a
# seat or waiting for one now, and who came (marked at check-in). People, not registrations: a
# parent registering two children with one address is one person of the audience.
_MEETING_REACH = (
    _AUDIENCE  # noqa: S608
    + """ SELECT count(DISTINCT r.person_id) FILTER (WHERE r.status IN ('confirmed', 'waitlisted'))
                     AS registered,
                 count(DISTINCT r.person_id) FILTER (WHERE r.attended_at IS NOT NULL) AS attended
          FROM meeting_registrations r JOIN audience a ON a.id = r.person_id
          WHERE r.meeting_id = ANY ((SELECT meeting_ids FROM campaigns WHERE id = $6)::uuid[])"""
)


async def meeting_reach(conn: Db, campaign_id: UUID, audience: Audience) -> asyncpg.Record:
    """The audience's people registered for the campaign's meetings (registered) and come (attended)."""
    row = await conn.fetchrow(_MEETING_REACH, *_audience_parameters(audience), campaign_id)
    assert row is not None  # an aggregate always answers
    return row


async def choosable_regions(conn: Db) -> list[asyncpg.Record]:
    """Regions a form lists: not single ZIPs or tracts (an import brings them by the thousand;
    ZIP codes are typed instead)."""
    return await conn.fetch(
        "SELECT id, name FROM regions WHERE kind NOT IN ('zip', 'tract') ORDER BY name, id LIMIT 1000"
    )


async def choosable_cops(conn: Db) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT id, topic FROM cops ORDER BY lower(topic), id LIMIT 1000")


async def choosable_imports(conn: Db) -> list[asyncpg.Record]:
    """Imports of people a form lists, newest first: how many of their people are still there
    (the erased are gone, as from the audience), not how many each created."""
    return await conn.fetch(
        """SELECT i.id, i.file_name, i.imported_at,
                  (SELECT count(*) FROM people p WHERE p.import_id = i.id) AS people
           FROM people_imports i ORDER BY i.imported_at DESC, i.id LIMIT 1000"""
    )


async def choosable_organisations(conn: Db, organisations: Sequence[UUID] | None) -> list[asyncpg.Record]:
    """The organisations a campaign can belong to: the account's own (None: all, for admins)."""
    return await conn.fetch(
        """SELECT id, name FROM organisations WHERE $1::uuid[] IS NULL OR id = ANY($1)
           ORDER BY lower(name), id LIMIT 1000""",
        None if organisations is None else list(organisations),
    )
