# ruff: noqa: S608  (the SQL is built from the bench's own constants and the document's ids, quoted)
"""``results_read``: the results page's data (``results_of``, with a cross-tab by age) for a
survey with a million responses, read again and again: p50 and p99 of the reads. Beside it, in
the same run, the same figures computed the naive way (bench.naive_results: GROUP BY over every
response's answers), read fewer times, as each read takes seconds.

The responses are generated in SQL (``INSERT ... SELECT`` over ``generate_series``, plausible
answers to the bench's survey, each question answered, skipped or hidden as in
bench.survey_setup), and their tallies and cross-tabs computed once at set-up by the naive
queries, in the bench's own database. Before measuring, the bench checks that the tallies it
reads back match the naive figures."""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from rich.console import Console

from bench.naive_results import crosstab_sql, every_crosstab_sql, tallies_sql
from bench.report import Run
from bench.sandbox import Sandbox
from bench.stats import percentile
from bench.survey_setup import DISTRICTS, BenchSurvey, store_survey
from services.surveys.results.store import results_of
from shared.demographics import CATALOGUE, Dimension

BY = Dimension.AGE.value  # the cross-tab the page shows beside the questions


def _bands(dimension: Dimension) -> str:
    return "ARRAY[" + ", ".join(f"'{band.code}'" for band in CATALOGUE[dimension].bands) + "]"


def _pick(array: str) -> str:
    return f"({array})[1 + floor(random() * cardinality({array}))::int]"


def _maybe(probability: float, json_value: str) -> str:
    return f"CASE WHEN random() < {probability} THEN {json_value} END"


_ZIPS = "ARRAY[" + ", ".join(f"'{z}'" for zips in DISTRICTS.values() for z in zips) + "]"
_TRAINING = """(ARRAY['{"choices": ["welding"]}', '{"choices": ["machining"]}', '{"choices": ["robotics"]}',
                      '{"choices": ["welding", "robotics"]}', '{"choices": ["machining", "welding"]}',
                      '{"choices": ["robotics"], "other": "Forklift licence"}', NULL])"""
_COMMENTS = "ARRAY['More evening classes, please.', 'The plan forgets the bus lines to the industrial park.']"


def _chosen(key: str, dimension: Dimension) -> str:
    """A demographics answer, given by 85 % of the residents."""
    band = _pick(_bands(dimension))
    value = f"jsonb_build_array({band})" if key == "choices" else band
    return _maybe(0.85, f"jsonb_build_object('{key}', {value})")


_DEMOGRAPHICS = ", ".join(
    f"'{d.value}', {_chosen('choices' if d is Dimension.RACE_ETHNICITY else 'choice', d)}" for d in Dimension
)
# jsonb_strip_nulls drops the questions left unanswered, as a resident's form does.
GENERATE = f"""
WITH drawn AS (
    SELECT random() < 0.45 AS yes, {_maybe(0.9, _pick(_ZIPS))} AS zip, {_pick(_TRAINING)}::jsonb AS training,
           jsonb_strip_nulls(jsonb_build_object('plan_rating', floor(random() * 11)::int,
                                                'comment', {_maybe(0.2, _pick(_COMMENTS))},
                                                {_DEMOGRAPHICS})) AS given
    FROM generate_series(1, $2))
INSERT INTO surveys.responses (survey_id, version, answers, region_id, postal_code, submitted_at)
SELECT $1, 1,
       given || jsonb_build_object('works_in_manufacturing', jsonb_build_object('choice',
                                   CASE WHEN yes THEN 'yes' ELSE 'no' END))
             || CASE WHEN yes AND training IS NOT NULL THEN jsonb_build_object('training', training)
                     ELSE '{{}}' END
             || CASE WHEN zip IS NOT NULL THEN jsonb_build_object('postal_code', zip) ELSE '{{}}' END,
       (SELECT r.id FROM surveys.regions r JOIN surveys.surveys s ON r.parent_id = s.region_id
        WHERE s.id = $1 AND zip = ANY(r.zip_codes)), zip, now()
FROM drawn"""


async def fill(owner: asyncpg.Connection, survey: BenchSurvey, responses: int) -> None:
    """The responses, their totals, tallies and cross-tabs, as if each had been recorded."""
    await owner.execute("SET max_parallel_workers_per_gather = 2")
    await owner.execute(GENERATE, survey.id, responses)
    await owner.execute(
        """INSERT INTO surveys.survey_totals (survey_id, version, responses)
           SELECT survey_id, version, count(*) FROM surveys.responses WHERE survey_id = $1
           GROUP BY 1, 2""",
        survey.id,
    )
    await owner.execute(
        f"INSERT INTO surveys.tallies (survey_id, version, question, bucket, responses) "
        f"SELECT $1, * FROM ({tallies_sql(survey.document)}) AS t",
        survey.id,
    )
    await owner.execute(
        f"""INSERT INTO surveys.crosstab_tallies (survey_id, version, "by", by_bucket, question, bucket,
                                                 responses)
            SELECT $1, * FROM ({every_crosstab_sql(survey.document)}) AS t""",
        survey.id,
    )
    await owner.execute("ANALYZE surveys.responses, surveys.tallies, surveys.crosstab_tallies")


async def _naive(conn: asyncpg.Connection, survey: BenchSurvey) -> tuple[list[asyncpg.Record], ...]:
    """The same figures as the page's, from the responses."""
    totals = await conn.fetch(
        "SELECT version, count(*) FROM surveys.responses WHERE survey_id = $1 GROUP BY 1", survey.id
    )
    return (
        totals,
        await conn.fetch(tallies_sql(survey.document), survey.id),
        await conn.fetch(crosstab_sql(survey.document), survey.id, BY),
    )


async def check_figures(conn: asyncpg.Connection, survey: BenchSurvey) -> None:
    """The page's counts equal the naive ones: the two readings compared read the same figures."""
    results = await results_of(conn, survey.id, by=BY)
    assert results is not None
    _totals, tallies, _crossed = await _naive(conn, survey)
    naive = {(r["question"], r["bucket"]): r["responses"] for r in tallies}
    page = {(q.id, b.bucket): b.responses for q in results.questions for b in q.buckets if b.responses}
    if page != naive:
        raise RuntimeError(
            f"results_of and the naive GROUP BY differ: {set(page.items()) ^ set(naive.items())}"
        )


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def _timed_reads(reads: int, read: Callable[[], Awaitable[Any]]) -> list[float]:
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        await read()
        times.append(_ms(started))
    return times


@dataclass(frozen=True)
class Sizes:
    runs: int
    responses: int
    reads: int  # of results_of per run
    naive_reads: int  # of the naive GROUP BY per run


async def measure(box: Sandbox, sizes: Sizes, console: Console) -> list[Run]:
    """Interleaved runs (odd runs results_of first) over one survey of ``sizes.responses``."""
    owner = await box.connect(owner=True)
    reader = await asyncpg.connect(box.settings.database_url, server_settings={"search_path": "surveys"})
    try:
        survey = await store_survey(owner)
        started = time.perf_counter()
        await fill(owner, survey, sizes.responses)
        console.log(
            f"results_read: {sizes.responses:,} responses and their tallies in {_ms(started) / 1000:.0f} s"
        )
        await check_figures(reader, survey)
        runs = []
        for run in range(1, sizes.runs + 1):
            timed: dict[str, list[float]] = {}
            for which in ("page", "naive") if run % 2 else ("naive", "page"):
                if which == "page":
                    timed[which] = await _timed_reads(
                        sizes.reads, lambda: results_of(reader, survey.id, by=BY)
                    )
                else:
                    timed[which] = await _timed_reads(sizes.naive_reads, lambda: _naive(reader, survey))
            page, naive = timed["page"], timed["naive"]
            p50, p99 = percentile(page, 50), percentile(page, 99)
            n50, n99 = percentile(naive, 50), percentile(naive, 99)
            console.log(
                f"run {run}: results_of p50/p99 {p50:.2f}/{p99:.2f} ms over {len(page)} reads; "
                f"naive GROUP BY {n50:,.0f}/{n99:,.0f} ms over {len(naive)}"
            )
            runs.append(
                Run(
                    p99,
                    n99,
                    p50,
                    p99,
                    n50,
                    n99,
                    extra={"reads": len(page), "naive_reads": len(naive), "responses": sizes.responses},
                )
            )
        return runs
    finally:
        await reader.close()
        await owner.close()
