"""The SQL of invitations. A survey's title for the invitation is read from its current version;
an invitee erased in surveys (a tombstone in aggregate_positions, handlers.ERASED) is never
invited again, whatever event or request names them."""

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from shared.db import DbConnection

ERASED = "surveys.erased"  # services/surveys/handlers.py's tombstones of erased people

_SURVEY = """SELECT s.id, s.organisation_id, s.slug, s.access, s.status, s.opens_at, s.closes_at,
                    v.document -> 'title' AS title, v.document ->> 'main_language' AS main_language
             FROM surveys s JOIN survey_versions v ON v.survey_id = s.id AND v.version = s.current_version"""


async def survey(conn: DbConnection | asyncpg.Pool, survey_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_SURVEY} WHERE s.id = $1", survey_id)
    return row


async def campaign_surveys(
    conn: DbConnection, survey_ids: Sequence[UUID], organisation_id: UUID
) -> list[asyncpg.Record]:
    """The campaign's linked surveys that exist and belong to its organisation: a campaign
    cannot send another organisation's survey to its audience by naming it."""
    return await conn.fetch(
        f"{_SURVEY} WHERE s.id = ANY($1::uuid[]) AND s.organisation_id = $2 ORDER BY s.id",
        list(survey_ids),
        organisation_id,
    )


async def respondents(conn: DbConnection, person_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """The people surveys knows (person_id, language) among ``person_ids``: someone erased, or
    never registered, is not among them."""
    return await conn.fetch(
        "SELECT person_id, language FROM respondents WHERE person_id = ANY($1::uuid[]) ORDER BY person_id",
        list(person_ids),
    )


async def insert(
    conn: DbConnection,
    survey_id: UUID,
    campaign_id: UUID | None,
    person_ids: Sequence[UUID],
    languages: Sequence[str],
    token_hashes: Sequence[bytes],
) -> list[asyncpg.Record]:
    """One invitation per person not invited to the survey yet, nor erased: the rows written
    (id, person_id, language, token_hash). A person named twice is invited once."""
    return await conn.fetch(
        """INSERT INTO invitations (survey_id, person_id, token_hash, campaign_id, language)
           SELECT $1, m.person_id, m.token_hash, $2, m.language
           FROM unnest($3::uuid[], $4::text[], $5::bytea[]) AS m (person_id, language, token_hash)
           WHERE NOT EXISTS (SELECT FROM aggregate_positions p
                             WHERE p.consumer = $6 AND p.aggregate = 'person:' || m.person_id)
           ON CONFLICT (survey_id, person_id) DO NOTHING
           RETURNING id, person_id, language, token_hash""",
        survey_id,
        campaign_id,
        list(person_ids),
        list(languages),
        list(token_hashes),
        ERASED,
    )


async def counts(conn: DbConnection | asyncpg.Pool, survey_id: UUID) -> asyncpg.Record:
    """How many invitations the survey has, and how many were used (a flag: no time is kept)."""
    row = await conn.fetchrow(
        """SELECT count(*) AS issued, count(*) FILTER (WHERE used) AS used
           FROM invitations WHERE survey_id = $1""",
        survey_id,
    )
    assert row is not None  # an aggregate always answers
    return row


async def erase(conn: DbConnection, person_id: UUID) -> None:
    """Everything surveys holds that names the person, for their erasure: the drafts begun from
    their links, their invitations (used or not: the row names them, and a used one has nothing
    left to stop), and their name on responses, which stay, answered by nobody."""
    await conn.execute(
        "DELETE FROM drafts WHERE token_hash IN (SELECT token_hash FROM invitations WHERE person_id = $1)",
        person_id,
    )
    await conn.execute("DELETE FROM invitations WHERE person_id = $1", person_id)
    await conn.execute("UPDATE responses SET person_id = NULL WHERE person_id = $1", person_id)
    # So do their responses' response.submitted events, published or not (no aggregate names the
    # person, so the outbox erasure misses them): they lose the respondent's id.
    await conn.execute(
        """UPDATE outbox SET payload = jsonb_set(payload, '{data,respondent_id}', 'null')
           WHERE routing_key = 'response.submitted' AND payload -> 'data' ->> 'respondent_id' = $1""",
        str(person_id),
    )
