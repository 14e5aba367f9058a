"""Reading a survey's results. The figures come only from the kept counts (survey_totals,
tallies, crosstab_tallies) and the region projection, each read by its primary key's prefix
(survey_id): a results page costs the same with ten responses or a million. Only the free texts
and the exports read responses, for organizers, a page or a stream at a time."""

import json
from collections.abc import AsyncIterator, Mapping
from functools import lru_cache
from uuid import UUID

import asyncpg

from services.surveys.building.definition import parse_document
from services.surveys.results import crosstab, report
from services.surveys.results.models import (
    BandResult,
    DimensionResult,
    FreeText,
    FreeTextPage,
    RepresentativenessReport,
    Results,
    VersionCount,
)
from services.surveys.results.recording import REGION, UNKNOWN
from services.surveys.results.representativeness import BandCount, representativeness
from shared.db import DbConnection
from shared.demographics import CATALOGUE, Dimension
from shared.i18n import gettext_ as _

Queryable = asyncpg.Pool | DbConnection
FREE_TEXTS_PER_PAGE = 50


@lru_cache(maxsize=256)
def _asked(raws: tuple[tuple[int, str], ...], current: int) -> list[report.Asked]:
    """A survey's questions over its versions, worked out once per set of versions' texts: the
    versions that have responses never change, and a draft's edited version is another text."""
    return report.asked_questions(
        {version: parse_document(json.loads(raw)) for version, raw in raws}, current
    )


async def survey(conn: Queryable, survey_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM surveys WHERE id = $1", survey_id)


async def survey_by_slug(conn: Queryable, slug: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM surveys WHERE slug = $1", slug)


async def asked_of(conn: Queryable, survey_id: UUID, current: int) -> list[report.Asked]:
    """The questions of every version of the survey, the current one's first (report.py)."""
    rows = await conn.fetch(
        """SELECT version, document::text AS document FROM survey_versions
           WHERE survey_id = $1 ORDER BY version""",
        survey_id,
    )
    return _asked(tuple((row["version"], row["document"]) for row in rows), current)


async def _totals(conn: Queryable, survey_id: UUID) -> list[VersionCount]:
    rows = await conn.fetch(
        "SELECT version, responses FROM survey_totals WHERE survey_id = $1 ORDER BY version", survey_id
    )
    return [VersionCount(version=row["version"], responses=row["responses"]) for row in rows]


async def _tallies(conn: Queryable, survey_id: UUID) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(
        """SELECT question, bucket, sum(responses)::int AS responses
           FROM tallies WHERE survey_id = $1 GROUP BY question, bucket""",
        survey_id,
    )
    return {(row["question"], row["bucket"]): row["responses"] for row in rows}


async def _crossed(conn: Queryable, survey_id: UUID, by: str) -> dict[tuple[str, str, str], int]:
    rows = await conn.fetch(
        """SELECT question, bucket, by_bucket, sum(responses)::int AS responses
           FROM crosstab_tallies WHERE survey_id = $1 AND "by" = $2
           GROUP BY question, bucket, by_bucket""",
        survey_id,
        by,
    )
    return {(row["question"], row["bucket"], row["by_bucket"]): row["responses"] for row in rows}


async def _region_names(conn: Queryable, bands: list[str]) -> dict[str, str]:
    """The names of the regions cross-tab columns are (their ids as text; @unknown is none)."""
    ids = [UUID(band) for band in bands if band != UNKNOWN]
    rows = await conn.fetch("SELECT id, name FROM regions WHERE id = ANY($1::uuid[])", ids)
    return {str(row["id"]): row["name"] for row in rows}


async def results_of(
    conn: Queryable, survey_id: UUID, by: str | None = None, language: str = "en"
) -> Results | None:
    """The results page's data: every question's counts summed over the versions, the versions
    covered, labels from the newest version asking each question in ``language``, and with ``by``
    (one of crosstab.BY_CHOICES) the suppressed cross-tabs. None when there is no such survey."""
    found = await survey(conn, survey_id)
    if found is None:
        return None
    asked = await asked_of(conn, survey_id, found["current_version"])
    totals = await _totals(conn, survey_id)
    counts = await _tallies(conn, survey_id)
    current = next(a.document for a in asked if found["current_version"] in a.versions)
    with report.in_language(language):
        tables = None
        if by is not None:
            crossed = await _crossed(conn, survey_id, by)
            if by == REGION:
                names = await _region_names(conn, sorted({band for (_q, _b, band) in crossed}))
                columns = crosstab.region_columns(crossed, names)
            else:
                columns = crosstab.demographic_columns(by, asked, language)
            tables = crosstab.crosstabs(by, columns, asked, crossed, found["suppression_threshold"], language)
        return Results(
            survey_id=survey_id,
            title=report.words(current.title, current, language),
            language=language,
            threshold=found["suppression_threshold"],
            responses=sum(v.responses for v in totals),
            versions=totals,
            questions=report.question_results(asked, counts, language),
            crosstabs=tables,
        )


async def _baseline(conn: Queryable, region_id: UUID) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(
        "SELECT dimension, band, estimate FROM region_baselines WHERE region_id = $1", region_id
    )
    return {(row["dimension"], row["band"]): int(row["estimate"]) for row in rows}


async def representativeness_of(
    conn: Queryable, found: asyncpg.Record, language: str = "en"
) -> RepresentativenessReport:
    """Respondents per band (the tallies of the demographics questions) against the baseline of
    the survey's region, per dimension. Without a region, every band has no baseline."""
    region_id = found["region_id"]
    counts = await _tallies(conn, found["id"])
    baseline = await _baseline(conn, region_id) if region_id else {}
    region_name = (
        await conn.fetchval("SELECT name FROM regions WHERE id = $1", region_id) if region_id else None
    )
    asked = {a.question.id: a for a in await asked_of(conn, found["id"], found["current_version"])}
    dimensions = []
    with report.in_language(language):
        for dimension in Dimension:
            question = asked.get(dimension.value)
            bands = [
                BandCount(
                    band=band.code,
                    respondents=counts.get((dimension.value, band.code), 0),
                    population=baseline.get((dimension.value, band.code)),
                )
                for band in CATALOGUE[dimension].bands
            ]
            labels = {
                band.code: report.bucket_label(question, band.code, language) if question else band.label
                for band in CATALOGUE[dimension].bands
            }
            found_shares = representativeness(dimension, bands)
            dimensions.append(
                DimensionResult(
                    dimension=dimension,
                    label=_(CATALOGUE[dimension].label),
                    asked=question is not None,
                    index=found_shares.index,
                    bands=[BandResult(label=labels[b.band], **b.model_dump()) for b in found_shares.bands],
                    under_represented=[labels[band] for band in found_shares.under_represented],
                )
            )
    return RepresentativenessReport(
        survey_id=found["id"], region_id=region_id, region_name=region_name, dimensions=dimensions
    )


async def free_texts(
    conn: Queryable, survey_id: UUID, question: str, after: UUID | None, limit: int = FREE_TEXTS_PER_PAGE
) -> tuple[list[FreeText], UUID | None]:
    """A page of the texts given to ``question`` (a text answer, or a choice's "other"), in the
    order of the responses' random ids (never in the order they came), and the id to go on after."""
    rows = await conn.fetch(
        """SELECT id, CASE jsonb_typeof(answers -> $2) WHEN 'string' THEN answers ->> $2
                               ELSE answers -> $2 ->> 'other' END AS text
           FROM responses
           WHERE survey_id = $1 AND id > $3
             AND (jsonb_typeof(answers -> $2) = 'string' OR answers -> $2 ->> 'other' IS NOT NULL)
           ORDER BY id LIMIT $4""",
        survey_id,
        question,
        after or UUID(int=0),
        limit + 1,
    )
    items = [FreeText(response_id=row["id"], text=row["text"]) for row in rows[:limit]]
    return items, (items[-1].response_id if len(rows) > limit else None)


def free_text_page(question: str, prompt: str, page: tuple[list[FreeText], UUID | None]) -> FreeTextPage:
    items, after = page
    return FreeTextPage(question=question, prompt=prompt, items=items, next=after)


async def responses(
    conn: DbConnection, survey_id: UUID, columns: Mapping[str, str]
) -> AsyncIterator[asyncpg.Record]:
    """Every response of the survey, ``columns`` (name -> SQL expression, from a fixed list in
    export.py) only, by id, through a cursor: a big survey is streamed, never held. ``conn`` must
    be in a transaction."""
    selected = ", ".join(f"{expression} AS {name}" for name, expression in columns.items())
    query = f"SELECT {selected} FROM responses WHERE survey_id = $1 ORDER BY id"  # noqa: S608  (fixed names)
    async for row in conn.cursor(query, survey_id, prefetch=500):
        yield row
