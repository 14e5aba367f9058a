"""What the floor server (bench.floor_ingest) does with a survey response: check the answers with
the survey's own rules, build the same ``response.submitted`` envelope and the response's tally
increments (the platform's pure functions: they are the survey's rules, not its plumbing), and
write a batch of responses in ONE statement: the submission keys, the responses, the totals,
tallies and cross-tabs (summed over the batch, sent as JSON rows as recording.py sends them,
upserted in a fixed order), the outbox rows and one NOTIFY."""

import asyncio
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from pydantic import BaseModel, ConfigDict

from services.surveys.building.definition import SurveyDocument, check_answers, parse_document
from services.surveys.results.recording import crossings
from services.surveys.results.tallies import increments
from shared.contracts import Envelope, ResponseSubmitted
from shared.db import DbConnection
from shared.demographics import Dimension

SURVEY_TTL_S = 1.0  # a survey closed (or edited) is refused (or answered in its new version) within a second


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    submission_key: UUID
    answers: dict[str, Any]


@dataclass(frozen=True)
class OpenSurvey:
    id: UUID
    organisation_id: UUID
    campaign_id: UUID | None
    version: int
    document: SurveyDocument
    region_of_zip: Mapping[str, UUID]  # the ZIP codes of the regions inside the survey's
    read_at: float


@dataclass(frozen=True)
class Response:
    id: UUID
    key: UUID
    survey: OpenSurvey
    answers: str
    region_id: UUID | None
    postal_code: str | None
    tallied: Counter[tuple[str, str]]  # (question, bucket)
    crossed: Counter[tuple[str, str, str, str]]  # (by, by_bucket, question, bucket)
    event_id: UUID
    event: str


class Surveys:
    """Open surveys by slug, read again after SURVEY_TTL_S; one reading at a time per slug, which
    the requests arriving meanwhile wait for."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.readings: dict[str, tuple[float, asyncio.Future[OpenSurvey | None]]] = {}

    async def open_one(self, slug: str) -> OpenSurvey | None:
        now = time.monotonic()
        reading = self.readings.get(slug)
        if reading is None or now - reading[0] >= SURVEY_TTL_S:
            reading = (now, asyncio.ensure_future(self._read(slug, now)))
            self.readings[slug] = reading
        return await reading[1]

    async def _read(self, slug: str, now: float) -> OpenSurvey | None:
        row = await self.pool.fetchrow(
            """SELECT s.id, s.organisation_id, s.campaign_id, s.current_version, v.document::text,
                      (SELECT coalesce(jsonb_object_agg(z, r.id), '{}') FROM surveys.regions r,
                              unnest(r.zip_codes) z WHERE r.parent_id = s.region_id)::text AS zips
               FROM surveys.surveys s
               JOIN surveys.survey_versions v ON v.survey_id = s.id AND v.version = s.current_version
               WHERE s.slug = $1 AND s.status = 'open' AND s.access <> 'invited'
                 AND (s.opens_at IS NULL OR s.opens_at <= now())
                 AND (s.closes_at IS NULL OR s.closes_at > now())""",
            slug,
        )
        if row is None:
            return None
        zips = {z: UUID(r) for z, r in json.loads(row["zips"]).items()}
        return OpenSurvey(
            row["id"],
            row["organisation_id"],
            row["campaign_id"],
            row["current_version"],
            parse_document(json.loads(row["document"])),
            zips,
            now,
        )


def response(survey: OpenSurvey, submission: Submission) -> Response | dict[str, str]:
    """The rows one valid submission writes, or its problems."""
    answers = submission.answers
    problems = check_answers(survey.document, answers)
    if problems:
        return problems
    postal_code = answers.get("postal_code")
    zip_code = postal_code if isinstance(postal_code, str) else None
    region_id = survey.region_of_zip.get(zip_code) if zip_code else None
    cells = increments(survey.document, answers)
    tallied = Counter({(cell.question, cell.bucket): n for cell, n in cells.items()})
    crossed: Counter[tuple[str, str, str, str]] = Counter()
    for by, by_bucket in crossings(survey.document, answers, region_id):
        for cell, n in cells.items():
            if cell.question != by:
                crossed[(by, by_bucket, cell.question, cell.bucket)] += n
    demographics = {
        d.value: tuple(_chosen(answers[d.value]))
        for d in Dimension
        if isinstance(answers.get(d.value), Mapping)
    }
    response_id = uuid4()
    envelope = Envelope.wrap(
        ResponseSubmitted(
            response_id=response_id,
            survey_id=survey.id,
            organisation_id=survey.organisation_id,
            survey_version=survey.version,
            mode="confidential",
            region_id=region_id,
            postal_code=zip_code,
            campaign_id=survey.campaign_id,
            demographics=demographics,
        ),
        producer="surveys",
    )
    return Response(
        response_id,
        submission.submission_key,
        survey,
        json.dumps(answers),
        region_id,
        zip_code,
        tallied,
        crossed,
        envelope.id,
        envelope.model_dump_json(),
    )


def _chosen(answer: Mapping[str, Any]) -> list[str]:
    choice = answer.get("choice")
    return [choice] if isinstance(choice, str) else list(answer.get("choices") or [])


_WRITE = """
WITH keys AS (
    INSERT INTO surveys.submissions (key, survey_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])),
stored AS (
    INSERT INTO surveys.responses (id, survey_id, version, answers, region_id, postal_code, campaign_id,
                                   submitted_at)
    SELECT id, s, v, a::jsonb, r, p, c, now()
    FROM unnest($3::uuid[], $2::uuid[], $4::int[], $5::text[], $6::uuid[], $7::text[], $8::uuid[])
         AS t(id, s, v, a, r, p, c)),
versions AS (
    SELECT * FROM unnest($9::uuid[], $10::int[]) WITH ORDINALITY AS v(survey_id, version, n)),
totals AS (
    INSERT INTO surveys.survey_totals AS t (survey_id, version, responses)
    SELECT v.survey_id, v.version, (c->>1)::int
    FROM json_array_elements($11::json) WITH ORDINALITY AS cells(c, i) JOIN versions v ON v.n = (c->>0)::int
    ORDER BY cells.i
    ON CONFLICT (survey_id, version) DO UPDATE SET responses = t.responses + excluded.responses),
tallied AS (
    INSERT INTO surveys.tallies AS t (survey_id, version, question, bucket, responses)
    SELECT v.survey_id, v.version, c->>1, c->>2, (c->>3)::int
    FROM json_array_elements($12::json) WITH ORDINALITY AS cells(c, i) JOIN versions v ON v.n = (c->>0)::int
    ORDER BY cells.i
    ON CONFLICT (survey_id, version, question, bucket)
    DO UPDATE SET responses = t.responses + excluded.responses),
crossed AS (
    INSERT INTO surveys.crosstab_tallies AS t
        (survey_id, version, "by", question, bucket, by_bucket, responses)
    SELECT v.survey_id, v.version, c->>1, c->>2, c->>3, c->>4, (c->>5)::int
    FROM json_array_elements($13::json) WITH ORDINALITY AS cells(c, i) JOIN versions v ON v.n = (c->>0)::int
    ORDER BY cells.i
    ON CONFLICT (survey_id, version, "by", question, bucket, by_bucket)
    DO UPDATE SET responses = t.responses + excluded.responses),
written AS (
    INSERT INTO surveys.outbox (event_id, routing_key, payload)
    SELECT id, 'response.submitted', body::jsonb FROM unnest($14::uuid[], $15::text[]) AS e(id, body))
SELECT pg_notify('surveys_outbox', '')"""


def _rows(counts: Mapping[tuple[Any, ...], int]) -> str:
    """JSON rows (the key, then the count), sorted so that two batches lock shared cells in one
    order: as recording.py sends them, cheaper to encode than one array per column."""
    return json.dumps([[*key, n] for key, n in sorted(counts.items())])


async def write_responses(conn: DbConnection, batch: Sequence[Response]) -> None:
    versions: dict[tuple[UUID, int], int] = {}
    totals: Counter[tuple[int]] = Counter()
    tallies: Counter[tuple[int, str, str]] = Counter()
    crossed: Counter[tuple[int, str, str, str, str]] = Counter()
    for r in batch:
        key = versions.setdefault((r.survey.id, r.survey.version), len(versions) + 1)
        totals[(key,)] += 1
        for (question, bucket), n in r.tallied.items():
            tallies[(key, question, bucket)] += n
        for (by, by_bucket, question, bucket), n in r.crossed.items():
            crossed[(key, by, question, bucket, by_bucket)] += n
    await conn.execute(
        _WRITE,
        [r.key for r in batch],
        [r.survey.id for r in batch],
        [r.id for r in batch],
        [r.survey.version for r in batch],
        [r.answers for r in batch],
        [r.region_id for r in batch],
        [r.postal_code for r in batch],
        [r.survey.campaign_id for r in batch],
        [survey_id for survey_id, _ in versions],
        [version for _, version in versions],
        _rows(totals),
        _rows(tallies),
        _rows(crossed),
        [r.event_id for r in batch],
        [r.event for r in batch],
    )
