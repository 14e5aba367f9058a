"""The surveys console against the real PostgreSQL: forms with CSRF, errors beside their field
with what was typed kept, in English and Spanish; the builder adds, edits, moves and deletes
questions and adds the demographics section, each through the API's rules; import and export."""

import re
import uuid
from typing import Any

import asyncpg
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from tests.support.surveys import surveys
from tests.test_accounts import csrf_of
from tests.test_organisations import as_
from tests.test_survey_building import created, organizer

__all__ = ["surveys"]  # the fixture

CONSOLE = "/surveys/console"


async def document_of(surveys: TestClient, survey_id: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await surveys.get(f"/api/v1/surveys/{survey_id}/document", headers=headers)
    body: dict[str, Any] = await response.json()
    return body


def ids(document: dict[str, Any]) -> list[list[str]]:
    return [[question["id"] for question in section["questions"]] for section in document["sections"]]


def every_id(document: dict[str, Any]) -> set[str]:
    return {question_id for section in ids(document) for question_id in section}


async def test_a_new_survey_is_made_by_the_form_with_errors_beside_the_fields(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = uuid.uuid4()
    await pools["surveys"].execute(
        "INSERT INTO organisations (id, name) VALUES ($1, $2)", organisation_id, "Harbor Union"
    )
    headers = organizer(organisation_id)
    form_page = await surveys.get(f"{CONSOLE}/new", headers=headers)
    assert form_page.status == 200
    html = await form_page.text()
    assert f'<option value="{organisation_id}"' in html and "Harbor Union" in html
    form = {
        "csrf": csrf_of(html),
        "organisation_id": str(organisation_id),
        "mode": "anonymous",
        "access": "public",
        "suppression_threshold": "1",
        "title_en": "Land use",
        "title_es": "Uso del suelo",
        "opens_at": "",
        "closes_at": "",
        "region_id": "",
    }
    refused = await surveys.post(f"{CONSOLE}/new", data=form, headers=headers, allow_redirects=False)
    assert refused.status == 422
    html = await refused.text()
    assert (
        'id="suppression_threshold-error"' in html
        and 'aria-describedby="suppression_threshold-error"' in html
    )
    assert 'value="Uso del suelo"' in html

    spanish = await surveys.post(
        f"{CONSOLE}/new?lang=es", data={**form, "suppression_threshold": "5", "title_en": ""}, headers=headers
    )
    assert spanish.status == 422 and 'id="title_en-error"' in await spanish.text()

    expired = await surveys.post(
        f"{CONSOLE}/new?lang=en",
        data={**form, "csrf": "forged", "suppression_threshold": "5"},
        headers=headers,
    )
    assert expired.status == 422 and "This form had expired" in await expired.text()

    saved = await surveys.post(
        f"{CONSOLE}/new", data={**form, "suppression_threshold": "5"}, headers=headers, allow_redirects=False
    )
    assert saved.status == 303
    survey_id = saved.headers["Location"].split("/")[3].split("?")[0]
    page = await surveys.get(f"{CONSOLE}/{survey_id}", headers=headers)
    html = await page.text()
    assert "Land use" in html and re.search(r'href="/surveys/s/[a-z2-7]{16}"', html)
    # its results, and its invitations unless anyone may answer by the public link alone
    assert f'href="/surveys/console/{survey_id}/results"' in html
    assert (f'href="/surveys/console/{survey_id}/invitations"' in html) == (form["access"] != "public")
    listing = await (await surveys.get(CONSOLE, params={"q": "uso del"}, headers=headers)).text()
    assert f"/surveys/console/{survey_id}" in listing and "0 responses" in listing

    other = await surveys.get(
        f"{CONSOLE}/{survey_id}", headers=organizer(uuid.uuid4()), allow_redirects=False
    )
    assert other.status == 403


async def test_the_builder_adds_edits_moves_and_deletes_questions(surveys: TestClient) -> None:
    organisation_id = uuid.uuid4()
    headers = organizer(organisation_id)
    survey = await created(surveys, organisation_id)
    base = f"{CONSOLE}/{survey['id']}"
    new = await surveys.get(
        f"{base}/questions/new", params={"type": "single_choice", "section": "0"}, headers=headers
    )
    assert new.status == 200
    token = csrf_of(await new.text())
    question = {
        "csrf": token,
        "type": "single_choice",
        "section": "0",
        "id": "commute",
        "prompt_en": "How do you get to work?",
        "prompt_es": "¿Cómo llega al trabajo?",
        "options_en": "Bus\nCar\nOn foot",
        "options_es": "Autobús\nCoche\nA pie",
        "offers_other": "on",
        "required": "on",
        "show_if_question": "works_in_manufacturing",
        "show_if_kind": "equals",
        "show_if_value": "yes",
    }
    bad = await surveys.post(f"{base}/questions/new", data={**question, "id": "Commute!"}, headers=headers)
    assert bad.status == 422
    html = await bad.text()
    assert 'id="id-error"' in html and "Autobús\nCoche" in html
    wrong_value = await surveys.post(
        f"{base}/questions/new", data={**question, "show_if_value": "maybe"}, headers=headers
    )
    assert wrong_value.status == 422 and 'id="show_if_value-error"' in await wrong_value.text()

    added = await surveys.post(f"{base}/questions/new", data=question, headers=headers, allow_redirects=False)
    assert added.status == 303
    document = await document_of(surveys, survey["id"], headers)
    commute = document["sections"][0]["questions"][2]
    assert commute == {
        "id": "commute",
        "type": "single_choice",
        "prompt": {"en": "How do you get to work?", "es": "¿Cómo llega al trabajo?"},
        "required": True,
        "options": [
            {"id": "bus", "label": {"en": "Bus", "es": "Autobús"}},
            {"id": "car", "label": {"en": "Car", "es": "Coche"}},
            {"id": "on_foot", "label": {"en": "On foot", "es": "A pie"}},
        ],
        "other": {"en": "Other, please specify", "es": "Otra, especifique"},
        "show_if": {"kind": "equals", "question": "works_in_manufacturing", "value": "yes"},
    }

    edit = await surveys.get(f"{base}/questions/commute", headers=headers)
    html = await edit.text()
    assert "Bus\nCar\nOn foot" in html
    changed = {**question, "options_en": "Bus\nCar\nBicycle", "options_es": "Autobús\nCoche\nBicicleta"}
    saved = await surveys.post(
        f"{base}/questions/commute", data=changed, headers=headers, allow_redirects=False
    )
    assert saved.status == 303
    options = (await document_of(surveys, survey["id"], headers))["sections"][0]["questions"][2]["options"]
    assert [option["id"] for option in options] == ["bus", "car", "on_foot"]  # kept by position
    assert options[2]["label"] == {"en": "Bicycle", "es": "Bicicleta"}

    up = await surveys.post(
        f"{base}/questions/commute/up", data={"csrf": token}, headers=headers, allow_redirects=False
    )
    assert up.status == 303
    assert ids(await document_of(surveys, survey["id"], headers))[0] == [
        "works_in_manufacturing",
        "commute",
        "training",
    ]
    # Above the question it depends on, it would come first: refused, listed by field path.
    refused = await surveys.post(f"{base}/questions/commute/up", data={"csrf": token}, headers=headers)
    assert refused.status == 422
    assert "sections.0.questions.0.show_if.question" in await refused.text()
    down = await surveys.post(f"{base}/questions/training/down", data={"csrf": token}, headers=headers)
    assert down.status == 200  # followed to the survey page
    assert ids(await document_of(surveys, survey["id"], headers))[1][0] == "training"
    deleted = await surveys.post(
        f"{base}/questions/commute/delete", data={"csrf": token}, headers=headers, allow_redirects=False
    )
    assert deleted.status == 303
    assert "commute" not in every_id(await document_of(surveys, survey["id"], headers))
    forged = await surveys.post(f"{base}/questions/training/delete", data={"csrf": "x"}, headers=headers)
    assert forged.status == 422
    assert "training" in every_id(await document_of(surveys, survey["id"], headers))


async def test_a_likert_on_a_new_page_and_the_demographics_section(surveys: TestClient) -> None:
    organisation_id = uuid.uuid4()
    headers = organizer(organisation_id)
    document = {
        "main_language": "en",
        "languages": ["en", "es"],
        "title": {"en": "Parks"},
        "sections": [
            {"title": {"en": "One"}, "questions": [{"id": "q1", "type": "rating", "prompt": {"en": "?"}}]}
        ],
    }
    survey = await created(surveys, organisation_id, document=document)
    base = f"{CONSOLE}/{survey['id']}"
    token = csrf_of(await (await surveys.get(base, headers=headers)).text())
    likert = {
        "csrf": token,
        "type": "likert",
        "section": "new",
        "section_title_en": "Parks",
        "section_title_es": "Parques",
        "id": "parks_safe",
        "prompt_en": "The parks are safe",
        "points": "5",
        "labels_en": "Disagree a lot\nDisagree\nNeither\nAgree",
    }
    short = await surveys.post(f"{base}/questions/new", data=likert, headers=headers)
    assert short.status == 422 and 'id="form-error"' in await short.text()
    added = await surveys.post(
        f"{base}/questions/new",
        data={**likert, "labels_en": likert["labels_en"] + "\nAgree a lot"},
        headers=headers,
    )
    assert added.status == 200
    demographics = await surveys.post(f"{base}/demographics", data={"csrf": token}, headers=headers)
    assert demographics.status == 200
    saved = await document_of(surveys, survey["id"], headers)
    assert ids(saved)[1] == ["parks_safe"] and saved["sections"][1]["title"] == {
        "en": "Parks",
        "es": "Parques",
    }
    assert ids(saved)[2] == [
        "age",
        "race_ethnicity",
        "household_income",
        "tenure",
        "language_at_home",
        "postal_code",
    ]
    again = await surveys.post(f"{base}/demographics", data={"csrf": token}, headers=headers)
    assert again.status == 422 and "is the id of an earlier question" in await again.text()
    language = await surveys.post(
        f"{base}/languages", data={"csrf": token, "language": "fr"}, headers=headers
    )
    assert language.status == 200
    assert (await document_of(surveys, survey["id"], headers))["languages"] == ["en", "es", "fr"]


async def test_open_survey_edits_make_versions_and_import_lists_problems_by_path(surveys: TestClient) -> None:
    organisation_id = uuid.uuid4()
    headers = organizer(organisation_id)
    survey = await created(surveys, organisation_id)
    base = f"{CONSOLE}/{survey['id']}"
    token = csrf_of(await (await surveys.get(base, headers=headers)).text())
    opened = await surveys.post(f"{base}/open", data={"csrf": token}, headers=headers, allow_redirects=False)
    assert opened.status == 303
    await surveys.post(f"{base}/questions/comment/up", data={"csrf": token}, headers=headers)
    page = await (await surveys.get(base, headers=headers)).text()
    assert "Version 2" in page
    exported = await surveys.get(f"{base}/document.json", headers=headers)
    assert "attachment" in exported.headers["Content-Disposition"]
    assert (await exported.json()) == await document_of(surveys, survey["id"], headers)

    form = FormData()
    form.add_field("csrf", token)
    form.add_field("file", b'{"main_language": "en", "languages": ["en"]}', filename="s.json")
    imported = await surveys.post(f"{base}/import", data=form, headers=headers)
    assert imported.status == 422
    html = await imported.text()
    assert 'id="file-error"' in html and "<code>title</code>" in html and "<code>sections</code>" in html
    closed = await surveys.post(f"{base}/close", data={"csrf": token}, headers=headers)
    assert closed.status == 200
    refused = await surveys.post(f"{base}/questions/comment/delete", data={"csrf": token}, headers=headers)
    assert refused.status == 409 and "This survey is closed" in await refused.text()


async def test_the_console_speaks_spanish(surveys: TestClient) -> None:
    organisation_id = uuid.uuid4()
    headers = organizer(organisation_id)
    await created(surveys, organisation_id)
    html = await (await surveys.get(f"{CONSOLE}?lang=es", headers=headers)).text()
    assert "Encuestas" in html and "Nueva encuesta" in html
    admin = await surveys.get(CONSOLE, headers=as_("admin"))
    assert admin.status == 200
