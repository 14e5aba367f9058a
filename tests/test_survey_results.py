"""Survey results through the surveys service's API and pages, against PostgreSQL: responses are
stored with SQL and counted by recording.record, as the submit path does, so these tests need not
go through answering."""

import csv
import io
import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.surveys.building.definition import parse_document
from services.surveys.results import recording
from services.surveys.results.recording import Counted
from tests.support.surveys import a_survey, branching_document, surveys
from tests.test_organisations import as_

__all__ = ["surveys"]  # the fixture

Answers = dict[str, Any]


async def respond(
    pool: asyncpg.Pool,
    survey: asyncpg.Record,
    all_answers: Sequence[Answers],
    *,
    version: int = 1,
    region_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Store responses and count them in one transaction, as the submit path does; their ids."""
    raw = await pool.fetchval(
        "SELECT document::text FROM survey_versions WHERE survey_id = $1 AND version = $2",
        survey["id"],
        version,
    )
    document = parse_document(json.loads(raw))
    ids = []
    async with pool.acquire() as conn, conn.transaction():
        for answers in all_answers:
            ids.append(
                await conn.fetchval(
                    """INSERT INTO responses (survey_id, version, answers, region_id, postal_code, person_id,
                                              submitted_at)
                       VALUES ($1, $2, $3, $4, '94110', $5, $6) RETURNING id""",
                    survey["id"],
                    version,
                    answers,
                    region_id,
                    person_id,
                    None if survey["mode"] == "anonymous" else datetime.now(UTC),
                )
            )
        await recording.record(
            conn, [Counted(survey["id"], version, document, answers, region_id) for answers in all_answers]
        )
    return ids


def organizer_of(survey: asyncpg.Record) -> dict[str, str]:
    return as_(f"organizer:{survey['organisation_id']}")


def yes(rating: int, **more: Any) -> Answers:
    return {"works_in_manufacturing": {"choice": "yes"}, "plan_rating": rating, **more}


def no(rating: int, **more: Any) -> Answers:
    return {"works_in_manufacturing": {"choice": "no"}, "plan_rating": rating, **more}


async def a_region(pool: asyncpg.Pool, name: str, baseline: dict[tuple[str, str], int]) -> uuid.UUID:
    region_id = uuid.uuid4()
    await pool.execute("INSERT INTO regions (id, name) VALUES ($1, $2)", region_id, name)
    await pool.executemany(
        "INSERT INTO region_baselines (region_id, dimension, band, estimate) VALUES ($1, $2, $3, $4)",
        [(region_id, dimension, band, estimate) for (dimension, band), estimate in baseline.items()],
    )
    return region_id


def buckets(results: dict[str, Any], question: str) -> dict[str, int | None]:
    [found] = [q for q in results["questions"] if q["id"] == question]
    return {b["bucket"]: b["responses"] for b in found["buckets"]}


async def test_results_count_every_version_and_say_which_they_cover(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool)
    await respond(pool, survey, [yes(8, training={"choices": ["welding"]}), no(3), no(3)])
    second = branching_document()
    second["sections"][1]["questions"].pop()  # version 2 no longer asks for a comment
    second["sections"][1]["questions"].append(
        {
            "id": "bus",
            "type": "single_choice",
            "prompt": {"en": "Bus?", "es": "¿Autobús?"},
            "options": [
                {"id": "often", "label": {"en": "Often", "es": "A menudo"}},
                {"id": "never", "label": {"en": "Never", "es": "Nunca"}},
            ],
        }
    )
    await pool.execute(
        "INSERT INTO survey_versions (survey_id, version, document) VALUES ($1, 2, $2::text::jsonb)",
        survey["id"],
        json.dumps(second),
    )
    await pool.execute("UPDATE surveys SET current_version = 2 WHERE id = $1", survey["id"])
    await respond(pool, survey, [no(3, bus={"choice": "often"})], version=2)

    answer = await surveys.get(f"/api/v1/surveys/{survey['id']}/results", headers=organizer_of(survey))
    assert answer.status == 200
    results = await answer.json()
    assert results["responses"] == 4
    assert results["versions"] == [{"version": 1, "responses": 3}, {"version": 2, "responses": 1}]
    assert buckets(results, "works_in_manufacturing") == {"yes": 1, "no": 3, "@skipped": 0}
    assert buckets(results, "plan_rating")["3"] == 3 and buckets(results, "plan_rating")["8"] == 1
    assert buckets(results, "training") == {
        "welding": 1,
        "machining": 0,
        "robotics": 0,
        "@other": 0,
        "@skipped": 0,
    }
    questions = {q["id"]: q for q in results["questions"]}
    # The current version's questions first, then the one only version 1 asks.
    assert [q["id"] for q in results["questions"]][-2:] == ["bus", "comment"]
    assert questions["bus"]["asked_in"] == [2] and questions["comment"]["asked_in"] == [1]
    assert questions["comment"]["buckets"] == [
        {"bucket": "@answered", "label": "Answered", "responses": 0},
        {"bucket": "@skipped", "label": "Skipped", "responses": 3},
    ]


async def test_labels_are_in_the_language_asked_for(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    survey = await a_survey(pools["surveys"])
    await respond(pools["surveys"], survey, [yes(5)])
    api = await surveys.get(f"/api/v1/surveys/{survey['id']}/results?lang=es", headers=organizer_of(survey))
    results = await api.json()
    assert results["title"] == "Manufacturando el Sueño"
    [first] = [q for q in results["questions"] if q["id"] == "works_in_manufacturing"]
    assert first["prompt"] == "¿Trabaja en manufactura?"
    assert [b["label"] for b in first["buckets"]] == ["Sí", "No", "Sin responder"]
    page = await surveys.get(f"/surveys/console/{survey['id']}/results?lang=es", headers=organizer_of(survey))
    html = await page.text()
    assert page.status == 200 and '<html lang="es">' in html
    assert "Respuestas por pregunta" in html and '<th scope="row">Sí</th>' in html


async def test_another_organisations_organizer_is_refused(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    survey = await a_survey(pools["surveys"])
    other = as_(f"organizer:{uuid.uuid4()}")
    base = f"/api/v1/surveys/{survey['id']}"
    for path in (
        "/results",
        "/representativeness",
        "/free-text?question=comment",
        "/export.csv",
        "/export.json",
    ):
        answer = await surveys.get(base + path, headers=other)
        assert answer.status == 403, path
        assert answer.content_type == "application/problem+json"
        assert (await surveys.get(base + path, headers=organizer_of(survey))).status == 200, path
    for path in ("/results", "/results/free-text?question=comment"):
        assert (await surveys.get(f"/surveys/console/{survey['id']}{path}", headers=other)).status == 403
    assert (await surveys.get(f"/api/v1/surveys/{uuid.uuid4()}/results", headers=as_("admin"))).status == 404


async def test_a_bad_cross_tab_is_a_problem_on_the_api_and_a_message_beside_the_field_on_the_page(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    survey = await a_survey(pools["surveys"])
    answer = await surveys.get(
        f"/api/v1/surveys/{survey['id']}/results?by=shoe_size", headers=organizer_of(survey)
    )
    assert answer.status == 422 and answer.content_type == "application/problem+json"
    assert (await answer.json())["errors"][0]["field"] == "by"
    page = await surveys.get(
        f"/surveys/console/{survey['id']}/results?by=shoe_size", headers=organizer_of(survey)
    )
    html = await page.text()
    assert page.status == 422
    assert 'id="by-error"' in html and 'aria-describedby="by-error"' in html


def shown_cells(html: str) -> list[str]:
    """Every cell (not the totals) of the cross-tab tables on a page."""
    tables = re.findall(r"<table>\s*<caption>[^<]*, by [^<]*</caption>.*?</table>", html, re.S)
    assert tables
    bodies = [table.split("<tbody>", 1)[1].split("</tbody>", 1)[0] for table in tables]
    rows = [row for body in bodies for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return [cell for row in rows for cell in re.findall(r"<td>([^<]*)</td>", row)[:-1]]


async def test_cross_tabs_hide_small_cells_and_what_would_give_them_away(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool, branching_document(with_demographics=True))
    owners = [no(7, tenure={"choice": "owner"}) for _ in range(9)]
    renters = [no(2, tenure={"choice": "renter"}) for _ in range(6)] + [
        yes(2, tenure={"choice": "renter"})
    ] * 2
    await respond(pool, survey, owners + renters + [no(5)])
    answer = await surveys.get(
        f"/api/v1/surveys/{survey['id']}/results?by=tenure", headers=organizer_of(survey)
    )
    crossed = (await answer.json())["crosstabs"]
    assert [c["band"] for c in crossed["columns"]] == ["owner", "renter", "@skipped"]
    [work] = [t for t in crossed["tables"] if t["question"] == "works_in_manufacturing"]
    rows = {row["bucket"]: row for row in work["rows"]}
    # yes: 0 owners, 2 renters (small: hidden); no: 9, 6, 1 (the 1 hidden too)
    assert rows["yes"]["cells"][1] is None and rows["no"]["cells"][2] is None
    assert rows["yes"]["cells"][0] == 0
    for row in work["rows"]:  # no row with a shown total holds a single hidden cell
        if row["total"] is not None:
            assert sum(cell is None for cell in row["cells"]) != 1
    for j, total in enumerate(work["column_totals"]):
        if total is not None:
            assert sum(row["cells"][j] is None for row in work["rows"]) != 1
    assert not [t for t in crossed["tables"] if t["question"] == "tenure"], (
        "a question is not crossed with itself"
    )

    page = await surveys.get(
        f"/surveys/console/{survey['id']}/results?by=tenure", headers=organizer_of(survey)
    )
    html = await page.text()
    cells = shown_cells(html)
    assert "*" in cells
    assert all(
        cell == "*" or int(cell.replace(",", "")) == 0 or int(cell.replace(",", "")) >= 5 for cell in cells
    )
    assert "fewer than 5, or hidden so that such a count can't be worked out" in html
    assert "selected>Tenure</option>" in html


async def test_cross_tabs_by_region_name_the_regions_and_use_the_surveys_threshold(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool, threshold=3)
    north = await a_region(pool, f"Northside {uuid.uuid4().hex[:6]}", {})
    await respond(pool, survey, [no(1)] * 4, region_id=north)
    await respond(pool, survey, [no(1)] * 3)
    answer = await surveys.get(
        f"/api/v1/surveys/{survey['id']}/results?by=region", headers=organizer_of(survey)
    )
    crossed = (await answer.json())["crosstabs"]
    assert [c["band"] for c in crossed["columns"]] == [str(north), "@unknown"]
    assert crossed["columns"][0]["label"].startswith("Northside")
    [rating] = [t for t in crossed["tables"] if t["question"] == "plan_rating"]
    assert {row["bucket"]: row["cells"] for row in rating["rows"]}["1"] == [4, 3]  # 3 is not under 3


async def test_representativeness_against_the_regions_baseline(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    pool = pools["surveys"]
    region = await a_region(
        pool, f"Eastside {uuid.uuid4().hex[:6]}", {("tenure", "owner"): 500, ("tenure", "renter"): 500}
    )
    survey = await a_survey(pool, branching_document(with_demographics=True), region_id=region)
    await respond(
        pool, survey, [no(5, tenure={"choice": "owner"})] * 9 + [no(5, tenure={"choice": "renter"})]
    )
    answer = await surveys.get(
        f"/api/v1/surveys/{survey['id']}/representativeness", headers=organizer_of(survey)
    )
    report = await answer.json()
    assert report["region_id"] == str(region) and report["region_name"].startswith("Eastside")
    tenure = next(d for d in report["dimensions"] if d["dimension"] == "tenure")
    assert tenure["asked"] is True
    assert tenure["index"] == pytest.approx(1 - (0.4 + 0.4) / 2)
    bands = {b["band"]: b for b in tenure["bands"]}
    assert bands["renter"]["respondents"] == 1 and bands["renter"]["population"] == 500
    assert bands["renter"]["representation"] == pytest.approx(0.2)
    assert tenure["under_represented"] == ["Renter"]
    age = next(d for d in report["dimensions"] if d["dimension"] == "age")
    assert age["index"] is None and all(b["population"] is None for b in age["bands"])

    page = await surveys.get(f"/surveys/console/{survey['id']}/results?lang=es", headers=organizer_of(survey))
    html = await page.text()
    assert "Los grupos menos representados: Inquilino." in html
    assert "Índice de representatividad: 0.60" in html


async def test_free_texts_are_listed_for_organizers_a_page_at_a_time(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool)
    texts = [f"comment {i}" for i in range(53)]
    ids = await respond(pool, survey, [no(4, comment=text) for text in texts] + [no(4)])
    others = await respond(pool, survey, [yes(4, training={"choices": ["welding"], "other": "Painting"})])
    base = f"/api/v1/surveys/{survey['id']}/free-text"
    first = await (await surveys.get(f"{base}?question=comment", headers=organizer_of(survey))).json()
    assert len(first["items"]) == 50 and first["next"]
    second = await (
        await surveys.get(f"{base}?question=comment&after={first['next']}", headers=organizer_of(survey))
    ).json()
    assert second["next"] is None
    listed = first["items"] + second["items"]
    assert sorted(item["text"] for item in listed) == sorted(texts)
    assert [item["response_id"] for item in listed] == sorted(str(i) for i in ids[:53])
    other = await (await surveys.get(f"{base}?question=training", headers=organizer_of(survey))).json()
    assert other["items"] == [{"response_id": str(others[0]), "text": "Painting"}]
    refused = await surveys.get(f"{base}?question=plan_rating", headers=organizer_of(survey))
    assert refused.status == 422 and (await refused.json())["errors"][0]["field"] == "question"
    page = await surveys.get(
        f"/surveys/console/{survey['id']}/results/free-text?question=comment", headers=organizer_of(survey)
    )
    html = await page.text()
    assert page.status == 200 and html.count("<li>comment ") == 50 and f"after={first['next']}" in html


async def export(client: TestClient, survey: asyncpg.Record, kind: str) -> str:
    answer = await client.get(f"/api/v1/surveys/{survey['id']}/export.{kind}", headers=organizer_of(survey))
    assert answer.status == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    return await answer.text()


async def test_exports_carry_what_the_mode_allows(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    pool = pools["surveys"]
    person = uuid.uuid4()
    region = await a_region(pool, f"Westside {uuid.uuid4().hex[:6]}", {})
    found = {}
    for mode in ("anonymous", "confidential", "identified"):
        survey = await a_survey(pool, mode=mode)
        ids = await respond(
            pool,
            survey,
            [yes(9, training={"choices": ["welding", "robotics"]}, comment='=HYPERLINK("x")'), no(0)],
            region_id=region,
            person_id=None if mode == "anonymous" else person,
        )
        rows = list(csv.DictReader(io.StringIO(await export(surveys, survey, "csv"))))
        document = json.loads(await export(surveys, survey, "json"))
        found[mode] = (
            rows,
            document,
            ids,
            await export(surveys, survey, "csv") + await export(surveys, survey, "json"),
        )
    for mode, (rows, document, ids, everything) in found.items():
        assert sorted(row["response_id"] for row in rows) == sorted(str(i) for i in ids)
        assert len(document["responses"]) == 2 and document["mode"] == mode
        assert (str(person) in everything) is (mode == "identified"), mode
        assert (str(region) in everything) is (mode != "anonymous"), mode
        welder = next(row for row in rows if row["plan_rating"] == "9")
        assert welder["training"] == "welding;robotics" and welder["works_in_manufacturing"] == "yes"
        assert welder["comment"] == '\'=HYPERLINK("x")'  # not run by a spreadsheet
        answers = next(r["answers"] for r in document["responses"] if r["answers"]["plan_rating"] == 9)
        assert answers["comment"] == '=HYPERLINK("x")'  # JSON keeps the text as given
    anonymous_rows = found["anonymous"][0]
    assert set(anonymous_rows[0]) == {
        "response_id",
        "version",
        "postal_code",
        "works_in_manufacturing",
        "training",
        "training.other",
        "plan_rating",
        "comment",
    }
    assert "submitted_at" not in found["anonymous"][1]["responses"][0]


async def test_a_chart_has_a_title_and_a_table_of_the_same_figures_beside_it(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    survey = await a_survey(pools["surveys"])
    await respond(pools["surveys"], survey, [yes(6)] * 2 + [no(6)] * 7)
    html = await (
        await surveys.get(f"/surveys/console/{survey['id']}/results", headers=organizer_of(survey))
    ).text()
    section = html.split('<h3 id="question-1">', 1)[1].split("</section>", 1)[0]
    assert '<svg class="chart"' in section and 'role="img"' in section
    assert "<title>Do you work in manufacturing?</title>" in section
    assert "Yes: 2</text>" in section and "No: 7</text>" in section
    assert '<th scope="row">Yes</th><td>2</td>' in section and '<th scope="row">No</th><td>7</td>' in section
    assert section.count("<rect") == 2  # no bar for the skip, counted 0
    assert 'href="/api/v1/surveys/{}/export.csv"'.format(survey["id"]) in html


async def test_the_public_page_only_after_close_and_when_published_and_suppressed(
    pools: dict[str, asyncpg.Pool], surveys: TestClient
) -> None:
    pool = pools["surveys"]
    past = datetime.now(UTC) - timedelta(days=1)
    never = await a_survey(pool, status="closed", results_public=False)
    still_open = await a_survey(pool, status="open", results_public=True)
    scheduled_to_close = await a_survey(
        pool, status="open", results_public=True, opens_at=past - timedelta(days=9), closes_at=past
    )
    closed = await a_survey(pool, status="closed", results_public=True)
    few = await a_survey(pool, status="closed", results_public=True)
    for survey in (never, still_open, scheduled_to_close, closed):
        await respond(pool, survey, [yes(6)] * 2 + [no(6)] * 6 + [no(9)] * 6 + [no(3)])
    await respond(pool, few, [no(6)] * 4)
    for survey in (never, still_open):
        answer = await surveys.get(f"/surveys/s/{survey['slug']}/results")
        assert answer.status == 404 and "Results not published" in await answer.text()
    assert (await surveys.get("/surveys/s/no-such-survey/results")).status == 404
    for survey in (scheduled_to_close, closed):
        answer = await surveys.get(f"/surveys/s/{survey['slug']}/results")
        html = await answer.text()
        assert answer.status == 200, survey["slug"]
        assert "15 responses" in html
        # yes 2 is hidden, and no (13) with it, or 15 - 13 would give it
        assert '<th scope="row">Yes</th><td>*</td>' in html and '<th scope="row">No</th><td>*</td>' in html
        assert "<td>2</td>" not in html and "<td>1</td>" not in html
        # rated 3 once: hidden, and the 6 who rated 9 with it; the 8 who rated 6 shown
        assert '<th scope="row">3</th><td>*</td>' in html and '<th scope="row">9</th><td>*</td>' in html
        assert '<th scope="row">6</th><td>8</td>' in html
        # training was shown to the 2 only: nothing of it, not even its zeros
        training = html.split("Which training would help you?</h3>", 1)[1].split("</section>", 1)[0]
        assert "<td>0</td>" not in training
        assert "export.csv" not in html and "free-text" not in html
    html = await (await surveys.get(f"/surveys/s/{few['slug']}/results")).text()
    assert "4 responses" in html and "Too few people answered" in html and "<td>4</td>" not in html
    spanish = await surveys.get(f"/surveys/s/{never['slug']}/results?lang=es")
    assert "Resultados no publicados" in await spanish.text()
