"""Building surveys through the JSON API, against the real PostgreSQL: a document posted is
exported back the same, every problem is a 422 naming the field and writes nothing, an open
survey's edits make versions (a response keeps its own), a closed one refuses them, and only the
survey's organisation's organizers (and admins) may write."""

import copy
import json
import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from shared.auth import ACCOUNT_HEADER
from tests.support.surveys import branching_document, surveys
from tests.test_organisations import as_

__all__ = ["surveys"]  # the fixture

API = "/api/v1/surveys"


def new_survey(organisation_id: uuid.UUID, **settings: Any) -> dict[str, Any]:
    return {
        "organisation_id": str(organisation_id),
        "mode": "confidential",
        "access": "public",
        "document": branching_document(with_demographics=True),
        **settings,
    }


async def created(surveys: TestClient, organisation_id: uuid.UUID, **settings: Any) -> dict[str, Any]:
    response = await surveys.post(
        API, json=new_survey(organisation_id, **settings), headers=organizer(organisation_id)
    )
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def organizer(organisation_id: uuid.UUID) -> dict[str, str]:
    return as_(f"organizer:{organisation_id}")


async def audit(pool: asyncpg.Pool, survey_id: str) -> list[str]:
    """The survey's audit entries as surveys tells them to engagement (organizer.acted)."""
    rows = await pool.fetch(
        """SELECT payload->'data'->>'action' AS action FROM outbox
           WHERE routing_key = 'organizer.acted' AND payload->'data'->>'target' LIKE $1 ORDER BY id""",
        f"survey:{survey_id}%",
    )
    return [row["action"] for row in rows]


async def test_a_survey_posted_is_exported_back_as_the_same_document(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = uuid.uuid4()
    survey = await created(surveys, organisation_id, suppression_threshold=7)
    assert survey["status"] == "draft" and survey["phase"] == "draft"
    assert survey["suppression_threshold"] == 7 and survey["current_version"] == 1
    assert survey["public_path"] == f"/surveys/s/{survey['slug']}"
    assert [v["version"] for v in survey["versions"]] == [1]
    exported = await surveys.get(f"{API}/{survey['id']}/document", headers=organizer(organisation_id))
    assert exported.status == 200
    assert await exported.json() == branching_document(with_demographics=True)
    assert await audit(pools["surveys"], survey["id"]) == ["survey.created"]


async def test_slugs_are_random_and_unguessable() -> None:
    from services.surveys.building.changes import new_slug

    slugs = {new_slug() for _ in range(1000)}
    assert len(slugs) == 1000
    assert all(len(slug) == 16 and slug.isalnum() and slug.islower() for slug in slugs)


def _likert_of_six_points() -> dict[str, Any]:
    document = branching_document()
    document["sections"][1]["questions"][0] = {
        "id": "plan_rating",
        "type": "likert",
        "points": 6,
        "labels": [],
        "prompt": {"en": "How?"},
    }
    return document


def _condition_on_later() -> dict[str, Any]:
    document = branching_document()
    document["sections"][0]["questions"][1]["show_if"]["question"] = "comment"
    return document


def _missing_main_language() -> dict[str, Any]:
    document = branching_document()
    document["title"] = {"es": "Sólo en español"}
    return document


def _repeated_id() -> dict[str, Any]:
    document = branching_document()
    document["sections"][1]["questions"][1]["id"] = "plan_rating"
    return document


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (_likert_of_six_points(), "document.sections.1.questions.0.points"),
        (_condition_on_later(), "document.sections.0.questions.1.show_if.question"),
        (_missing_main_language(), "document.title"),
        (_repeated_id(), "document.sections.1.questions.1.id"),
        ({"main_language": "en"}, "document.languages"),
    ],
)
async def test_every_problem_with_a_document_is_a_422_naming_its_field_and_writes_nothing(
    surveys: TestClient, pools: dict[str, asyncpg.Pool], document: dict[str, Any], field: str
) -> None:
    organisation_id = uuid.uuid4()
    body = {**new_survey(organisation_id), "document": document}
    response = await surveys.post(API, json=body, headers=organizer(organisation_id))
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert field in [error["field"] for error in problem["errors"]], problem
    assert (
        await pools["surveys"].fetchval(
            "SELECT count(*) FROM surveys WHERE organisation_id = $1", organisation_id
        )
        == 0
    )


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"mode": "secret"}, "mode"),
        ({"access": "everyone"}, "access"),
        ({"suppression_threshold": 1}, "suppression_threshold"),
        ({"opens_at": "2030-01-02T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z"}, "(body)"),
        ({"opens_at": "2030-01-02T00:00:00"}, "opens_at"),
    ],
)
async def test_bad_settings_are_a_422_naming_the_field(
    surveys: TestClient, pools: dict[str, asyncpg.Pool], bad: dict[str, Any], field: str
) -> None:
    organisation_id = uuid.uuid4()
    response = await surveys.post(
        API, json=new_survey(organisation_id, **bad), headers=organizer(organisation_id)
    )
    assert response.status == 422
    problem = await response.json()
    assert any(error["field"] == field for error in problem["errors"]), problem
    assert (
        await pools["surveys"].fetchval(
            "SELECT count(*) FROM surveys WHERE organisation_id = $1", organisation_id
        )
        == 0
    )


async def test_a_drafts_edit_replaces_its_only_version(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = uuid.uuid4()
    survey = await created(surveys, organisation_id)
    document = branching_document()
    document["title"] = {"en": "Renamed", "es": "Renombrada"}
    edited = await surveys.put(
        f"{API}/{survey['id']}/document", json=document, headers=organizer(organisation_id)
    )
    assert edited.status == 200
    assert (await edited.json())["current_version"] == 1
    exported = await surveys.get(f"{API}/{survey['id']}/document", headers=organizer(organisation_id))
    assert await exported.json() == document
    assert await audit(pools["surveys"], survey["id"]) == ["survey.created", "survey.document_replaced"]


async def answer_with_sql(pool: asyncpg.Pool, survey_id: str, version: int) -> uuid.UUID:
    """A response as answering stores one (answering is another part's; only its version matters here)."""
    response_id: uuid.UUID = await pool.fetchval(
        "INSERT INTO responses (survey_id, version, answers) VALUES ($1, $2, $3::text::jsonb) RETURNING id",
        uuid.UUID(survey_id),
        version,
        json.dumps({"works_in_manufacturing": {"choice": "no"}, "plan_rating": 7}),
    )
    return response_id


async def test_an_open_surveys_edit_adds_a_version_and_a_response_keeps_its_own(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool, organisation_id = pools["surveys"], uuid.uuid4()
    headers = organizer(organisation_id)
    survey = await created(surveys, organisation_id)
    opened = await surveys.post(f"{API}/{survey['id']}/open", headers=headers)
    assert opened.status == 200 and (await opened.json())["phase"] == "open"
    response_id = await answer_with_sql(pool, survey["id"], 1)

    second = branching_document()
    second["sections"][1]["questions"].append(
        {"id": "attend", "type": "date", "prompt": {"en": "When can you come?", "es": "¿Cuándo puede venir?"}}
    )
    edited = await surveys.put(f"{API}/{survey['id']}/document", json=second, headers=headers)
    assert edited.status == 200
    body = await edited.json()
    assert body["current_version"] == 2 and [v["version"] for v in body["versions"]] == [1, 2]
    assert await pool.fetchval("SELECT version FROM responses WHERE id = $1", response_id) == 1
    first = await surveys.get(f"{API}/{survey['id']}/document?version=1", headers=headers)
    assert await first.json() == branching_document(with_demographics=True)
    current = await surveys.get(f"{API}/{survey['id']}/document", headers=headers)
    assert await current.json() == second

    retyped = copy.deepcopy(second)
    retyped["sections"][1]["questions"][0] = {
        "id": "plan_rating",
        "type": "short_text",
        "prompt": {"en": "How?"},
    }
    refused = await surveys.put(f"{API}/{survey['id']}/document", json=retyped, headers=headers)
    assert refused.status == 422
    assert [e["field"] for e in (await refused.json())["errors"]] == ["sections.1.questions.0.type"]
    assert (
        await pool.fetchval("SELECT current_version FROM surveys WHERE id = $1", uuid.UUID(survey["id"])) == 2
    )
    assert await audit(pool, survey["id"]) == ["survey.created", "survey.opened", "survey.version_added"]


async def test_a_bad_edit_is_a_422_by_field_path_and_changes_nothing(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = uuid.uuid4()
    survey = await created(surveys, organisation_id)
    edited = await surveys.put(
        f"{API}/{survey['id']}/document", json=_condition_on_later(), headers=organizer(organisation_id)
    )
    assert edited.status == 422
    assert [e["field"] for e in (await edited.json())["errors"]] == [
        "sections.0.questions.1.show_if.question"
    ]
    exported = await surveys.get(f"{API}/{survey['id']}/document", headers=organizer(organisation_id))
    assert await exported.json() == branching_document(with_demographics=True)


async def test_the_lifecycle_goes_draft_open_closed_and_a_closed_survey_refuses_edits(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = uuid.uuid4()
    headers = organizer(organisation_id)
    survey = await created(surveys, organisation_id, mode="anonymous")
    path = f"{API}/{survey['id']}"
    assert (await surveys.post(f"{path}/close", headers=headers)).status == 409
    scheduled = await surveys.post(f"{path}/open", json={"opens_at": "2999-01-01T00:00:00Z"}, headers=headers)
    assert scheduled.status == 200 and (await scheduled.json())["phase"] == "scheduled"
    assert (await surveys.post(f"{path}/open", headers=headers)).status == 409
    fixed = await surveys.patch(path, json={"mode": "identified"}, headers=headers)
    assert fixed.status == 409
    changed = await surveys.patch(path, json={"suppression_threshold": 10, "opens_at": None}, headers=headers)
    assert changed.status == 200
    body = await changed.json()
    assert body["suppression_threshold"] == 10 and body["phase"] == "open" and body["mode"] == "anonymous"
    closed = await surveys.post(f"{path}/close", headers=headers)
    assert closed.status == 200 and (await closed.json())["phase"] == "closed"
    assert (await surveys.post(f"{path}/open", headers=headers)).status == 409
    refused = await surveys.put(f"{path}/document", json=branching_document(), headers=headers)
    assert refused.status == 409 and refused.content_type == "application/problem+json"
    assert (
        await pools["surveys"].fetchval(
            "SELECT count(*) FROM survey_versions WHERE survey_id = $1", uuid.UUID(survey["id"])
        )
        == 1
    )


async def test_only_the_surveys_organisation_writes_it(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = uuid.uuid4()
    survey = await created(surveys, organisation_id)
    path = f"{API}/{survey['id']}"
    other = organizer(uuid.uuid4())
    writes = [
        ("POST", API, new_survey(organisation_id)),
        ("PUT", f"{path}/document", branching_document()),
        ("PATCH", path, {"suppression_threshold": 9}),
        ("POST", f"{path}/open", {}),
        ("POST", f"{path}/close", {}),
    ]
    for method, url, body in writes:
        response = await surveys.request(method, url, json=body, headers=other)
        assert response.status == 403, (method, url)
    for url in (path, f"{path}/document"):
        assert (await surveys.get(url, headers=other)).status == 403
    assert await audit(pools["surveys"], survey["id"]) == ["survey.created"]
    assert (
        await pools["surveys"].fetchval(
            """SELECT count(*) FROM outbox
               WHERE routing_key = 'organizer.acted' AND payload->'data'->>'account_id' = $1""",
            other[ACCOUNT_HEADER],
        )
        == 0
    )

    admin = as_("admin")
    assert (await surveys.patch(path, json={"results_public": True}, headers=admin)).status == 200


async def test_the_list_holds_the_callers_organisations_surveys_searched_and_paged(
    surveys: TestClient,
) -> None:
    organisation_id, other_id = uuid.uuid4(), uuid.uuid4()
    marker = uuid.uuid4().hex[:8]
    for n in range(27):
        document = branching_document()
        document["title"] = {"en": f"Survey {marker} {n}", "es": f"Encuesta {marker} {n}"}
        await created(surveys, organisation_id, document=document)
    await created(surveys, other_id)
    headers = organizer(organisation_id)
    first = await (await surveys.get(API, params={"q": marker}, headers=headers)).json()
    assert len(first["items"]) == 25 and first["pages"] == 2
    second = await (
        await surveys.get(API, params={"q": f"encuesta {marker}", "page": 2}, headers=headers)
    ).json()
    assert len(second["items"]) == 2
    everything = await (await surveys.get(API, headers=headers)).json()
    assert {item["organisation_id"] for item in everything["items"]} == {str(organisation_id)}
    assert (await surveys.get(API, params={"page": 0}, headers=headers)).status == 422


async def test_the_tally_is_not_taken_for_a_survey(surveys: TestClient) -> None:
    """/api/v1/surveys/tally and /api/v1/surveys/{survey_id} share a prefix: a PATCH of the tally
    is a 405 that offers only what the tally allows."""
    refused = await surveys.patch("/api/v1/surveys/tally", json={}, headers=as_("admin"))
    assert refused.status == 405
    assert "PATCH" not in refused.headers["Allow"]
