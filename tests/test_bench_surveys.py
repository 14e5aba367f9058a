"""The survey benchmarks' harness, at tiny sizes and untimed: the floor server writes the rows the
platform writes for the same answers, the naive GROUP BY counts what the tallies' rules count,
and ``python -m bench --only results_read`` runs end to end and writes its entry."""

import json
import random
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

from bench import floor_survey
from bench.naive_results import every_crosstab_sql, tallies_sql
from bench.results_read import fill
from bench.survey_setup import DISTRICTS, BenchSurvey, answers, store_survey
from services.surveys.results.recording import Counted, crossings, record
from services.surveys.results.tallies import increments
from shared.contracts import Envelope, ResponseSubmitted
from shared.db import DbConnection
from shared.settings import Settings

TALLIES = "SELECT question, bucket, responses FROM tallies WHERE survey_id = $1"
CROSSED = 'SELECT "by", by_bucket, question, bucket, responses FROM crosstab_tallies WHERE survey_id = $1'


async def _counts(conn: DbConnection, survey_id: uuid.UUID) -> tuple[set[Any], set[Any], int]:
    total = await conn.fetchval("SELECT responses FROM survey_totals WHERE survey_id = $1", survey_id)
    return (
        {tuple(r) for r in await conn.fetch(TALLIES, survey_id)},
        {tuple(r) for r in await conn.fetch(CROSSED, survey_id)},
        total,
    )


async def test_the_floor_writes_what_the_platform_records(pools: dict[str, asyncpg.Pool]) -> None:
    async with pools["surveys"].acquire() as conn:
        survey = await store_survey(conn)
        surveys = floor_survey.Surveys(pools["surveys"])
        opened = await surveys.open_one(survey.slug)
        assert opened is not None
        rng = random.Random(7)
        given = [answers(rng) for _ in range(60)]
        written = []
        for one in given:
            response = floor_survey.response(
                opened, floor_survey.Submission(submission_key=uuid.uuid4(), answers=one)
            )
            assert isinstance(response, floor_survey.Response)
            written.append(response)
        rows = await conn.fetch("SELECT name, id FROM surveys.regions WHERE parent_id = $1", survey.region_id)
        districts = {row["name"]: row["id"] for row in rows}
        for one, response in zip(given, written, strict=True):
            zip_code = one.get("postal_code")
            expected = next((districts[name] for name, zips in DISTRICTS.items() if zip_code in zips), None)
            assert response.region_id == expected

        tx = conn.transaction()
        await tx.start()
        await floor_survey.write_responses(conn, written)
        by_floor = await _counts(conn, survey.id)
        stored = await conn.fetchval("SELECT count(*) FROM responses WHERE survey_id = $1", survey.id)
        keys = await conn.fetchval("SELECT count(*) FROM submissions WHERE survey_id = $1", survey.id)
        events = [
            Envelope.model_validate_json(row["payload"])
            for row in await conn.fetch(
                "SELECT payload::text AS payload FROM outbox WHERE payload->'data'->>'survey_id' = $1",
                str(survey.id),
            )
        ]
        await tx.rollback()

        tx = conn.transaction()
        await tx.start()
        await record(
            conn,
            [
                Counted(survey.id, 1, survey.document, one, r.region_id)
                for one, r in zip(given, written, strict=True)
            ],
        )
        by_platform = await _counts(conn, survey.id)
        await tx.rollback()

    assert by_floor == by_platform
    assert by_floor[2] == stored == keys == len(given)
    assert len(events) == len(given)
    assert {e.data["response_id"] for e in events} == {str(r.id) for r in written}
    assert all(e.type == ResponseSubmitted.type for e in events)


def _recount(survey: BenchSurvey, rows: list[asyncpg.Record]) -> tuple[Counter[Any], Counter[Any]]:
    """The tallies and cross-tabs of ``rows`` (answers, region) by the platform's own rules."""
    tallied: Counter[Any] = Counter()
    crossed: Counter[Any] = Counter()
    for row in rows:
        given = json.loads(row["answers"])
        cells = increments(survey.document, given)
        for cell, n in cells.items():
            tallied[(cell.question, cell.bucket)] += n
        for by, by_bucket in crossings(survey.document, given, row["region_id"]):
            for cell, n in cells.items():
                if cell.question != by:
                    crossed[(by, by_bucket, cell.question, cell.bucket)] += n
    return tallied, crossed


async def test_the_naive_group_by_counts_what_the_tallies_rules_count(settings: Settings) -> None:
    owner = await asyncpg.connect(settings.migration_database_url)
    try:
        survey = await store_survey(owner)
        await fill(owner, survey, 400)
        rows = await owner.fetch(
            "SELECT answers::text, region_id FROM surveys.responses WHERE survey_id = $1", survey.id
        )
        tallied, crossed = _recount(survey, rows)
        naive = await owner.fetch(tallies_sql(survey.document), survey.id)
        naive_crossed = await owner.fetch(every_crosstab_sql(survey.document), survey.id)
    finally:
        await owner.close()
    assert len(rows) == 400
    assert {(r["question"], r["bucket"]): r["responses"] for r in naive} == dict(tallied)
    assert {(r["by"], r["by_bucket"], r["question"], r["bucket"]): r["responses"] for r in naive_crossed} == {
        (by, str(bucket) if bucket else bucket, q, b): n for (by, bucket, q, b), n in crossed.items()
    }
    # Every kind of cell occurs: hidden, skipped and answered questions, several regions.
    assert {("training", "@skipped"), ("comment", "@answered"), ("age", "@skipped")} <= set(tallied)
    assert len({bucket for by, bucket, *_ in crossed if by == "region"}) == 1 + len(DISTRICTS)


def test_results_read_runs_end_to_end_and_writes_its_entry(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--only",
            "results_read",
            "--runs",
            "3",
            "--results-responses",
            "300",
            "--results-reads",
            "5",
            "--naive-reads",
            "1",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [entry] = json.loads(output.read_text())["results"]
    assert entry["name"] == "results_read" and entry["baseline"] == "naive_group_by"
    assert len(entry["runs"]) == 3 and all(run["reads"] == 5 for run in entry["runs"])
    assert entry["p50_ms"] <= entry["p99_ms"] and entry["ratio"] > 0
