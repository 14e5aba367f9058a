"""The SQL of building surveys: the surveys, their versions' documents and organisations'
names. Documents are stored as the organizer wrote them (jsonb keeps their meaning, not their
spacing or key order)."""

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from services.surveys.building.models import PAGE_SIZE, NewSurvey
from shared.db import DbConnection

Db = DbConnection | asyncpg.Pool

# A survey with what lists and pages show: its organisation's name, its current version's title
# and main language, and its responses (survey_totals, kept by each response's transaction).
_SURVEY = """SELECT s.*, o.name AS organisation_name,
                    v.document->'title' AS title, v.document->>'main_language' AS main_language,
                    coalesce((SELECT sum(t.responses) FROM survey_totals t WHERE t.survey_id = s.id), 0)
                        AS responses,
                    count(*) OVER () AS total
             FROM surveys s
             JOIN survey_versions v ON v.survey_id = s.id AND v.version = s.current_version
             LEFT JOIN organisations o ON o.id = s.organisation_id"""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def document_text(document: object) -> str:
    """The document as JSON text to store; ValueError when it holds NaN or an infinity (a number
    too large for a float), which JSON has not and jsonb refuses."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False)


async def surveys(
    conn: Db, search: str, offset: int, organisations: Sequence[UUID] | None
) -> list[asyncpg.Record]:
    """A page of surveys whose title (in any language) holds ``search``: of ``organisations``
    only, unless None (an admin)."""
    return await conn.fetch(
        f"""{_SURVEY}
            WHERE (SELECT coalesce(string_agg(value, ' '), '') FROM jsonb_each_text(v.document->'title'))
                  ILIKE $1
              AND ($2::uuid[] IS NULL OR s.organisation_id = ANY($2))
            ORDER BY s.created_at DESC, s.id OFFSET $3 LIMIT $4""",  # noqa: S608 (a constant)
        _like(search),
        None if organisations is None else list(organisations),
        offset,
        PAGE_SIZE,
    )


async def survey(conn: Db, survey_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_SURVEY} WHERE s.id = $1", survey_id)
    return row


async def versions(conn: Db, survey_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT version, created_at FROM survey_versions WHERE survey_id = $1 ORDER BY version", survey_id
    )


async def document(conn: Db, survey_id: UUID, version: int | None) -> Any | None:
    """A version's document (None: the current one) as parsed JSON; None when there is none."""
    return await conn.fetchval(
        """SELECT v.document FROM survey_versions v JOIN surveys s ON s.id = v.survey_id
           WHERE v.survey_id = $1 AND v.version = coalesce($2, s.current_version)""",
        survey_id,
        version,
    )


async def earlier_documents(conn: Db, survey_id: UUID, before: int) -> list[Any]:
    """The documents of the versions before ``before``."""
    rows = await conn.fetch(
        "SELECT document FROM survey_versions WHERE survey_id = $1 AND version < $2 ORDER BY version",
        survey_id,
        before,
    )
    return [row["document"] for row in rows]


async def insert(
    conn: DbConnection, survey: NewSurvey, slug: str, document: str, survey_id: UUID | None = None
) -> UUID:
    """A draft with ``document`` (as JSON text: ``document_text``) as its version 1; its id
    random unless given (the demo's: shared/demo_ids.py)."""
    survey_id = await conn.fetchval(
        """INSERT INTO surveys (organisation_id, slug, mode, access, opens_at, closes_at, region_id,
                                campaign_id, suppression_threshold, results_public, id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11, gen_random_uuid())) RETURNING id""",
        survey.organisation_id,
        slug,
        survey.mode,
        survey.access,
        survey.opens_at,
        survey.closes_at,
        survey.region_id,
        survey.campaign_id,
        survey.suppression_threshold,
        survey.results_public,
        survey_id,
    )
    assert survey_id is not None  # RETURNING id
    await conn.execute(
        "INSERT INTO survey_versions (survey_id, version, document) VALUES ($1, 1, $2::text::jsonb)",
        survey_id,
        document,
    )
    return survey_id


async def lock(conn: DbConnection, survey_id: UUID) -> asyncpg.Record | None:
    """The survey's row, locked until the transaction ends: two edits of one open survey make
    two versions one after the other, never two of the same number."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM surveys WHERE id = $1 FOR UPDATE", survey_id
    )
    return row


async def replace_version(conn: DbConnection, survey_id: UUID, version: int, document: str) -> None:
    await conn.execute(
        """UPDATE survey_versions SET document = $3::text::jsonb, created_at = clock_timestamp()
           WHERE survey_id = $1 AND version = $2""",
        survey_id,
        version,
        document,
    )
    await _touch(conn, survey_id)


async def add_version(conn: DbConnection, survey_id: UUID, version: int, document: str) -> None:
    await conn.execute(
        "INSERT INTO survey_versions (survey_id, version, document) VALUES ($1, $2, $3::text::jsonb)",
        survey_id,
        version,
        document,
    )
    await conn.execute(
        "UPDATE surveys SET current_version = $2, updated_at = clock_timestamp() WHERE id = $1",
        survey_id,
        version,
    )


async def _touch(conn: DbConnection, survey_id: UUID) -> None:
    await conn.execute("UPDATE surveys SET updated_at = clock_timestamp() WHERE id = $1", survey_id)


# The columns a settings change may set, by the name the API gives them.
SETTINGS = (
    "mode",
    "access",
    "region_id",
    "campaign_id",
    "suppression_threshold",
    "results_public",
    "opens_at",
    "closes_at",
)


async def change_settings(conn: DbConnection, survey_id: UUID, changes: dict[str, Any]) -> None:
    """Set the ``changes`` (names from SETTINGS only: they are spliced in as column names)."""
    names = [name for name in SETTINGS if name in changes]
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=2))
    await conn.execute(
        f"UPDATE surveys SET {assignments}, updated_at = clock_timestamp() WHERE id = $1",  # noqa: S608
        survey_id,
        *(changes[name] for name in names),
    )


async def set_status(conn: DbConnection, survey_id: UUID, status: str) -> None:
    await conn.execute(
        "UPDATE surveys SET status = $2, updated_at = clock_timestamp() WHERE id = $1", survey_id, status
    )


async def delete(conn: DbConnection, survey_id: UUID) -> None:
    """The survey and every row keyed by its id: each table of migrations 0002 and 0005 that has
    a survey_id (versions, invitations, submissions, responses, anonymous_pending, drafts and the
    tallies) references surveys ON DELETE CASCADE, so this one statement deletes them all in the
    caller's transaction, and a table added without that would make it fail, not leave rows.
    Only a draft is deleted (editing.deletable): nobody has answered it, and invitations are
    issued only to an open survey (invitations/rules.py). Should one exist all the same (a row
    written past those rules), it goes with the survey rather than keeping the draft from being
    deleted: its link led nowhere already, as answering finds no draft."""
    await conn.execute("DELETE FROM surveys WHERE id = $1", survey_id)


async def organisation_names(conn: Db, organisations: Sequence[UUID] | None) -> list[asyncpg.Record]:
    """The organisations (of ``organisations`` only, unless None) surveys knows the names of."""
    return await conn.fetch(
        """SELECT id, name FROM organisations WHERE $1::uuid[] IS NULL OR id = ANY($1)
           ORDER BY lower(name), id""",
        None if organisations is None else list(organisations),
    )


async def regions(conn: Db) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT id, name FROM regions ORDER BY lower(name), id")
