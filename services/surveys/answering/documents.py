"""Survey documents as answering reads them: parsed once per (survey, version) and kept.

Only the documents of surveys past their draft are read here (a draft is never answered), and
those are never rewritten: editing an open survey adds a version. So a kept document never goes
stale, and a busy survey's is parsed once, not on every submission."""

import json
from collections.abc import Iterable
from uuid import UUID

import asyncpg

from services.surveys.building.definition import SurveyDocument, parse_document
from shared.db import DbConnection

KEPT_AT_MOST = 512
_kept: dict[tuple[UUID, int], SurveyDocument] = {}


async def documents(
    conn: DbConnection | asyncpg.Pool, wanted: Iterable[tuple[UUID, int]]
) -> dict[tuple[UUID, int], SurveyDocument]:
    """Those of ``wanted`` that exist, reading the ones not kept yet in one query."""
    wanted = set(wanted)
    missing = [key for key in wanted if key not in _kept]
    if missing:
        rows = await conn.fetch(
            """SELECT v.survey_id, v.version, v.document::text AS document
               FROM survey_versions v
               JOIN unnest($1::uuid[], $2::int[]) AS w(survey_id, version)
                 ON (v.survey_id, v.version) = (w.survey_id, w.version)""",
            [survey for survey, _ in missing],
            [version for _, version in missing],
        )
        if len(_kept) + len(rows) > KEPT_AT_MOST:
            _kept.clear()
        for row in rows:
            _kept[(row["survey_id"], row["version"])] = parse_document(json.loads(row["document"]))
    return {key: _kept[key] for key in wanted if key in _kept}


async def document(conn: DbConnection | asyncpg.Pool, survey_id: UUID, version: int) -> SurveyDocument | None:
    return (await documents(conn, [(survey_id, version)])).get((survey_id, version))
