"""The stored tallies are the recount, whatever the responses and however they arrive: random valid
responses to two versions of a survey (the second adds a question and drops one), stored and
counted by recording.record in random batches and orders against PostgreSQL, then every stored
tally and cross-tab cell is set beside a count made afresh from the same responses, and the
results page's figures beside the recount summed over the versions."""

import json
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.surveys.building.definition import SurveyDocument, parse_document, visible_questions
from services.surveys.results import recording
from services.surveys.results.recording import Counted
from services.surveys.results.store import results_of
from services.surveys.results.tallies import SKIPPED, increments, recount
from shared.demographics import Dimension
from tests.support.surveys import a_survey, branching_document
from tests.test_survey_definition import valid_answers


def second_version() -> dict[str, Any]:
    """Version 2: no comment any more, and a question about the bus."""
    document = branching_document(with_demographics=True)
    plan = document["sections"][1]["questions"]
    plan[:] = [q for q in plan if q["id"] != "comment"]
    plan.append(
        {
            "id": "bus",
            "type": "likert",
            "points": 5,
            "prompt": {"en": "The bus is good", "es": "El autobús es bueno"},
            "labels": [{"en": str(n), "es": str(n)} for n in range(1, 6)],
        }
    )
    return document


RAW = {1: branching_document(with_demographics=True), 2: second_version()}
DOCUMENTS = {version: parse_document(raw) for version, raw in RAW.items()}
REGIONS = [None, uuid.uuid4(), uuid.uuid4()]


@st.composite
def responses(draw: st.DrawFn) -> list[tuple[int, dict[str, object], uuid.UUID | None]]:
    found = []
    for _ in range(draw(st.integers(1, 40))):
        version = draw(st.sampled_from([1, 2]))
        # PostgreSQL's text holds no NUL, which check_answers lets through: answering must refuse it.
        answers = draw(valid_answers(DOCUMENTS[version]).filter(lambda a: "\\u0000" not in json.dumps(a)))
        found.append((version, answers, draw(st.sampled_from(REGIONS))))
    return found


def crossed_afresh(
    document: SurveyDocument, answers: Mapping[str, object], region_id: uuid.UUID | None
) -> Counter[tuple[str, str, str, str]]:
    """(by, by_bucket, question, bucket) of one response, from the cross-tab rules as written:
    by region (or @unknown); by each shown demographics question's bands chosen, or @skipped."""
    columns = [("region", str(region_id) if region_id else "@unknown")]
    for question in visible_questions(document, answers):
        if question.id in {d.value for d in Dimension}:
            answer = answers.get(question.id)
            if answer is None:
                columns.append((question.id, SKIPPED))
            else:
                assert isinstance(answer, dict)
                bands = answer["choices"] if "choices" in answer else [answer["choice"]]
                columns.extend((question.id, band) for band in bands)
    counted: Counter[tuple[str, str, str, str]] = Counter()
    for by, band in columns:
        for cell, n in increments(document, answers).items():
            if cell.question != by:
                counted[(by, band, cell.question, cell.bucket)] += n
    return counted


async def a_two_version_survey(pool: asyncpg.Pool) -> asyncpg.Record:
    survey = await a_survey(pool, RAW[1])
    await pool.execute(
        "INSERT INTO survey_versions (survey_id, version, document) VALUES ($1, 2, $2::text::jsonb)",
        survey["id"],
        json.dumps(RAW[2]),
    )
    await pool.execute("UPDATE surveys SET current_version = 2 WHERE id = $1", survey["id"])
    return survey


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(given=responses(), data=st.data())
async def test_stored_tallies_and_cross_tabs_are_the_recount(
    pools: dict[str, asyncpg.Pool],
    given: list[tuple[int, dict[str, object], uuid.UUID | None]],
    data: st.DataObject,
) -> None:
    pool = pools["surveys"]
    survey = await a_two_version_survey(pool)
    arriving = data.draw(st.permutations(given))
    while arriving:
        size = data.draw(st.integers(1, len(arriving)))
        batch, arriving = arriving[:size], arriving[size:]
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO responses (survey_id, version, answers, region_id) VALUES ($1, $2, $3, $4)",
                [(survey["id"], version, answers, region) for version, answers, region in batch],
            )
            await recording.record(
                conn,
                [Counted(survey["id"], v, DOCUMENTS[v], answers, region) for v, answers, region in batch],
            )

    # What is stored, counted afresh from the responses as PostgreSQL holds them.
    stored = await pool.fetch(
        "SELECT version, answers, region_id FROM responses WHERE survey_id = $1", survey["id"]
    )
    tallied: dict[tuple[int, str, str], int] = {}
    crossed: Counter[tuple[int, str, str, str, str]] = Counter()
    for version in (1, 2):
        mine = [row for row in stored if row["version"] == version]
        for cell, n in recount(DOCUMENTS[version], [row["answers"] for row in mine]).items():
            tallied[(version, cell.question, cell.bucket)] = n
        for row in mine:
            for key, n in crossed_afresh(DOCUMENTS[version], row["answers"], row["region_id"]).items():
                crossed[(version, *key)] += n
    tallies = await pool.fetch(
        "SELECT version, question, bucket, responses FROM tallies WHERE survey_id = $1", survey["id"]
    )
    assert {(r["version"], r["question"], r["bucket"]): r["responses"] for r in tallies} == tallied
    cross = await pool.fetch(
        """SELECT version, "by", by_bucket, question, bucket, responses FROM crosstab_tallies
           WHERE survey_id = $1""",
        survey["id"],
    )
    assert {
        (r["version"], r["by"], r["by_bucket"], r["question"], r["bucket"]): r["responses"] for r in cross
    } == dict(crossed)
    totals = await pool.fetch(
        "SELECT version, responses FROM survey_totals WHERE survey_id = $1", survey["id"]
    )
    assert {r["version"]: r["responses"] for r in totals} == dict(Counter(v for v, _a, _r in given))

    # The results page's figures: the recount summed over the versions, zeros where none.
    results = await results_of(pool, survey["id"])
    assert results is not None and results.responses == len(given)
    summed: Counter[tuple[str, str]] = Counter()
    for (_version, question, bucket), n in tallied.items():
        summed[(question, bucket)] += n
    shown = {(q.id, b.bucket): b.responses for q in results.questions for b in q.buckets}
    assert {key: n for key, n in shown.items() if n} == dict(summed)
