"""A survey's title and description edited on its console page, and a draft deleted from there
or through the API, against the real PostgreSQL: the texts go through the document's edit rules
(a draft's version replaced, an open survey's next version, a closed one's refused) with errors
beside their field and what was typed kept, in English and Spanish; a draft is deleted with
every row kept of it, an opened survey never; another organisation's organizer gets 403."""

import secrets
import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.surveys.answering.rules import invitation_hash
from services.surveys.building.definition import document_errors
from services.surveys.building.texts import missing_main, texts_beside, texts_form, with_texts
from shared.i18n import translations
from tests.support.surveys import branching_document, surveys
from tests.test_accounts import csrf_of
from tests.test_organisations import as_
from tests.test_survey_building import audit, created, organizer

__all__ = ["surveys"]  # the fixture

API = "/api/v1/surveys"
CONSOLE = "/surveys/console"
es = translations("es").gettext


async def filled_form(surveys: TestClient, survey_id: str, headers: dict[str, str]) -> dict[str, str]:
    """The title and description form's fields as the survey's page shows them, with its token."""
    page = await surveys.get(f"{CONSOLE}/{survey_id}", headers=headers)
    assert page.status == 200
    html = await page.text()
    assert f'action="/surveys/console/{survey_id}/texts"' in html
    return {
        "csrf": csrf_of(html),
        "title_en": "Land use",
        "title_es": "Uso del suelo",
        "description_en": "Tell us how the riverside should be used.",
        "description_es": "Díganos cómo debería usarse la ribera.",
    }


async def document_of(surveys: TestClient, survey_id: str, headers: dict[str, str], version: int = 0) -> Any:
    query = f"?version={version}" if version else ""
    response = await surveys.get(f"{API}/{survey_id}/document{query}", headers=headers)
    assert response.status == 200
    return await response.json()


async def answering_page(surveys: TestClient, slug: str, language: str) -> str:
    page = await surveys.get(f"/surveys/s/{slug}?lang={language}")
    assert page.status == 200
    return await page.text()


async def opened(surveys: TestClient, organisation_id: uuid.UUID, *, answered: bool = False) -> Any:
    """A survey of the organisation, opened through the API; answered once through it if asked."""
    survey = await created(surveys, organisation_id)
    headers = organizer(organisation_id)
    assert (await surveys.post(f"{API}/{survey['id']}/open", headers=headers)).status == 200
    if answered:
        answers = {"works_in_manufacturing": {"choice": "no"}, "plan_rating": 7}
        response = await surveys.post(
            f"{API}/{survey['slug']}/responses",
            json={"submission_key": str(uuid.uuid4()), "answers": answers},
        )
        assert response.status == 201, await response.text()
    return survey


async def kept_of(pool: asyncpg.Pool, survey_id: str) -> dict[str, int]:
    """The rows of every table of surveys keyed by a survey_id that are this survey's."""
    tables = await pool.fetch(
        """SELECT table_name FROM information_schema.columns
           WHERE column_name = 'survey_id' AND table_schema = current_schema()
             AND table_name IN (SELECT table_name FROM information_schema.tables
                                WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')
           ORDER BY table_name"""
    )
    assert len(tables) >= 9, tables  # versions, invitations, responses, tallies...
    counts = {
        row["table_name"]: await pool.fetchval(
            f'SELECT count(*) FROM "{row["table_name"]}" WHERE survey_id = $1',  # the catalog's names
            uuid.UUID(survey_id),
        )
        for row in tables
    }
    counts["surveys"] = await pool.fetchval(
        "SELECT count(*) FROM surveys WHERE id = $1", uuid.UUID(survey_id)
    )
    return counts


def test_the_form_makes_the_documents_texts_and_places_the_rules_problems_beside_their_field() -> None:
    document = branching_document()
    typed = texts_form(document)
    assert typed == {
        "title_en": "Manufacturing the Dream",
        "title_es": "Manufacturando el Sueño",
        "description_en": "",
        "description_es": "",
    }
    assert with_texts(document, typed) == document
    changed = with_texts(document, {**typed, "title_es": " ", "description_en": " About the plan "})
    assert changed["title"] == {"en": "Manufacturing the Dream"}  # Spanish falls back to it
    assert changed["description"] == {"en": "About the plan"} and document_errors(changed) == []
    assert "description" not in with_texts(changed, {**typed, "description_en": ""})
    assert changed["sections"] == document["sections"] and "description" not in document

    refused = with_texts(document, {**typed, "title_en": "", "title_es": "x" * 2001, "description_es": "Sí"})
    # The rules say a text lacks the main language only once every text passed its own checks.
    assert [path for path, _ in document_errors(refused)] == ["title.es"]
    beside, elsewhere = texts_beside([*document_errors(refused), *missing_main(refused)], "en")
    assert set(beside) == {"title_en", "title_es", "description_en"} and elsewhere == []
    # Said as the rules say it when nothing else is wrong.
    unmained = with_texts(document, {**typed, "title_en": "", "description_es": "Sí"})
    assert missing_main(unmained) == document_errors(unmained) and missing_main(changed) == []
    assert texts_beside([("sections.0.title", "needs the main language en")], "en") == (
        {},
        [("sections.0.title", "needs the main language en")],
    )


async def test_a_drafts_title_and_description_are_edited_per_language_with_errors_beside_the_field(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = uuid.uuid4()
    headers = organizer(organisation_id)
    survey = await created(surveys, organisation_id)
    base = f"{CONSOLE}/{survey['id']}"
    shown = await (await surveys.get(base, headers=headers)).text()
    assert 'id="title_en" name="title_en" value="Manufacturing the Dream"' in shown
    assert 'value="Manufacturando el Sueño"' in shown and 'id="description_es"' in shown
    form = await filled_form(surveys, survey["id"], headers)
    before = await document_of(surveys, survey["id"], headers)

    no_title = await surveys.post(f"{base}/texts?lang=es", data={**form, "title_en": "  "}, headers=headers)
    assert no_title.status == 422
    html = await no_title.text()
    assert 'id="title_en-error"' in html and 'aria-describedby="title_en-error"' in html
    assert es("Enter the title in the main language, up to 2000 characters.") in html
    assert 'value="Uso del suelo"' in html and "Díganos cómo debería usarse la ribera." in html

    too_long = "Ribera " * 300
    long_title = await surveys.post(
        f"{base}/texts?lang=en", data={**form, "title_es": too_long}, headers=headers
    )
    assert long_title.status == 422
    html = await long_title.text()
    assert 'id="title_es-error"' in html and "Up to 2000 characters." in html
    assert f'value="{too_long}"' in html and 'id="title_en-error"' not in html

    spanish_only = await surveys.post(f"{base}/texts", data={**form, "description_en": ""}, headers=headers)
    assert spanish_only.status == 422 and 'id="description_en-error"' in await spanish_only.text()
    both = await surveys.post(
        f"{base}/texts", data={**form, "title_en": "", "title_es": too_long}, headers=headers
    )
    html = await both.text()
    assert both.status == 422 and 'id="title_en-error"' in html and 'id="title_es-error"' in html

    forged = await surveys.post(f"{base}/texts", data={**form, "csrf": "forged"}, headers=headers)
    assert forged.status == 422
    html = await forged.text()
    assert "This form had expired" in html and 'value="Land use"' in html
    assert await document_of(surveys, survey["id"], headers) == before
    assert await audit(pools["surveys"], survey["id"]) == ["survey.created"]

    saved = await surveys.post(f"{base}/texts", data=form, headers=headers, allow_redirects=False)
    assert saved.status == 303 and saved.headers["Location"] == f"{base}?saved=1"
    document = await document_of(surveys, survey["id"], headers)
    assert document == {
        **before,
        "title": {"en": "Land use", "es": "Uso del suelo"},
        "description": {
            "en": "Tell us how the riverside should be used.",
            "es": "Díganos cómo debería usarse la ribera.",
        },
    }
    # A draft's edit replaces its only version, with its audit entry as the API's and builder's.
    api = await (await surveys.get(f"{API}/{survey['id']}", headers=headers)).json()
    assert api["current_version"] == 1 and api["title"] == {"en": "Land use", "es": "Uso del suelo"}
    assert await audit(pools["surveys"], survey["id"]) == ["survey.created", "survey.document_replaced"]

    # Every description emptied: the document has none (the rules refuse an empty text).
    cleared = await surveys.post(
        f"{base}/texts", data={**form, "description_en": "", "description_es": ""}, headers=headers
    )
    assert cleared.status == 200
    assert "description" not in await document_of(surveys, survey["id"], headers)
    await surveys.post(f"{base}/texts", data=form, headers=headers)

    assert (await surveys.post(f"{API}/{survey['id']}/open", headers=headers)).status == 200
    english = await answering_page(surveys, survey["slug"], "en")
    assert "<h1>Land use</h1>" in english and "Tell us how the riverside should be used." in english
    spanish = await answering_page(surveys, survey["slug"], "es")
    assert "<h1>Uso del suelo</h1>" in spanish and "Díganos cómo debería usarse la ribera." in spanish


async def test_an_open_surveys_texts_make_a_version_a_response_keeps_its_own_and_a_closed_one_refuses(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool, organisation_id = pools["surveys"], uuid.uuid4()
    headers = organizer(organisation_id)
    survey = await opened(surveys, organisation_id, answered=True)
    base = f"{CONSOLE}/{survey['id']}"
    first = await document_of(surveys, survey["id"], headers)
    form = await filled_form(surveys, survey["id"], headers)

    other = organizer(uuid.uuid4())
    refused = await surveys.post(f"{base}/texts", data=form, headers=other, allow_redirects=False)
    assert refused.status == 403

    saved = await surveys.post(f"{base}/texts", data=form, headers=headers, allow_redirects=False)
    assert saved.status == 303
    body = await (await surveys.get(f"{API}/{survey['id']}", headers=headers)).json()
    assert body["current_version"] == 2 and [v["version"] for v in body["versions"]] == [1, 2]
    responses = await pool.fetch(
        "SELECT version FROM responses WHERE survey_id = $1", uuid.UUID(survey["id"])
    )
    assert [row["version"] for row in responses] == [1]
    assert await document_of(surveys, survey["id"], headers, version=1) == first
    second = await document_of(surveys, survey["id"], headers)
    assert second["title"] == {"en": "Land use", "es": "Uso del suelo"}
    assert second["sections"] == first["sections"]
    assert "<h1>Land use</h1>" in await answering_page(surveys, survey["slug"], "en")
    assert "<h1>Uso del suelo</h1>" in await answering_page(surveys, survey["slug"], "es")
    assert await audit(pool, survey["id"]) == ["survey.created", "survey.opened", "survey.version_added"]

    assert (await surveys.post(f"{API}/{survey['id']}/close", headers=headers)).status == 200
    page = await (await surveys.get(f"{base}?lang=es", headers=headers)).text()
    assert f'action="/surveys/console/{survey["id"]}/texts"' not in page
    closed = await surveys.post(
        f"{base}/texts?lang=es", data={**form, "title_en": "Too late"}, headers=headers, allow_redirects=False
    )
    assert closed.status == 409
    assert es("This survey is closed: it can no longer be changed.") in await closed.text()
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM survey_versions WHERE survey_id = $1", uuid.UUID(survey["id"])
        )
        == 2
    )
    assert (await document_of(surveys, survey["id"], headers))["title"]["en"] == "Land use"


async def test_a_draft_is_deleted_from_its_console_page_with_every_row_kept_of_it(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool, organisation_id = pools["surveys"], uuid.uuid4()
    headers = organizer(organisation_id)
    survey = await created(surveys, organisation_id, access="both")
    base = f"{CONSOLE}/{survey['id']}"
    # Rows no draft gets by the rules (invitations are issued only once it is open), written
    # straight in: the schema allows them, and the deletion takes them with the survey.
    await pool.execute(
        "INSERT INTO invitations (survey_id, person_id, token_hash, language) VALUES ($1, $2, $3, 'en')",
        uuid.UUID(survey["id"]),
        uuid.uuid4(),
        invitation_hash(secrets.token_urlsafe(32)),
    )
    await pool.execute(
        "INSERT INTO submissions (key, survey_id) VALUES ($1, $2)", uuid.uuid4(), uuid.UUID(survey["id"])
    )
    kept = await kept_of(pool, survey["id"])
    assert kept["survey_versions"] == kept["invitations"] == kept["submissions"] == kept["surveys"] == 1

    page = await (await surveys.get(f"{base}?lang=es", headers=headers)).text()
    assert f'action="/surveys/console/{survey["id"]}/delete"' in page
    assert es("Delete the draft") in page
    token = csrf_of(page)

    unconfirmed = await surveys.post(f"{base}/delete?lang=es", data={"csrf": token}, headers=headers)
    assert unconfirmed.status == 422
    html = await unconfirmed.text()
    assert (
        'id="confirm-error"' in html
        and es("Tick the box to delete this draft, or leave it as it is.") in html
    )
    forged = await surveys.post(
        f"{base}/delete?lang=en", data={"csrf": "forged", "confirm": "on"}, headers=headers
    )
    assert forged.status == 422 and "This form had expired" in await forged.text()
    other = await surveys.post(
        f"{base}/delete", data={"csrf": token, "confirm": "on"}, headers=organizer(uuid.uuid4())
    )
    assert other.status == 403
    assert await kept_of(pool, survey["id"]) == kept

    deleted = await surveys.post(
        f"{base}/delete", data={"csrf": token, "confirm": "on"}, headers=headers, allow_redirects=False
    )
    assert deleted.status == 303 and deleted.headers["Location"] == f"{CONSOLE}?deleted=1"
    listing = await (await surveys.get(f"{CONSOLE}?deleted=1&lang=es", headers=headers)).text()
    assert es("The draft was deleted.") in listing and survey["id"] not in listing
    assert (await surveys.get(base, headers=headers)).status == 404
    gone = await surveys.get(f"{API}/{survey['id']}", headers=headers)
    assert gone.status == 404 and gone.content_type == "application/problem+json"
    assert set((await kept_of(pool, survey["id"])).values()) == {0}
    assert (await audit(pool, survey["id"]))[-1] == "survey.deleted"

    # An opened survey offers no deletion, and refuses one all the same.
    open_one = await opened(surveys, organisation_id)
    page = await (await surveys.get(f"{CONSOLE}/{open_one['id']}", headers=headers)).text()
    assert f'action="/surveys/console/{open_one["id"]}/delete"' not in page
    refused = await surveys.post(
        f"{CONSOLE}/{open_one['id']}/delete?lang=es",
        data={"csrf": csrf_of(page), "confirm": "on"},
        headers=headers,
    )
    assert refused.status == 409
    assert (
        es("Only a draft can be deleted: once opened, a survey keeps its responses.") in await refused.text()
    )
    assert (await kept_of(pool, open_one["id"]))["surveys"] == 1


async def test_the_api_deletes_a_draft_and_refuses_an_opened_survey_changing_nothing(
    surveys: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool, organisation_id = pools["surveys"], uuid.uuid4()
    headers = organizer(organisation_id)
    draft = await created(surveys, organisation_id)
    path = f"{API}/{draft['id']}"

    other = await surveys.delete(path, headers=organizer(uuid.uuid4()))
    assert other.status == 403 and other.content_type == "application/problem+json"
    assert (await kept_of(pool, draft["id"]))["surveys"] == 1

    deleted = await surveys.delete(path, headers=headers)
    assert deleted.status == 204 and await deleted.read() == b""
    assert set((await kept_of(pool, draft["id"])).values()) == {0}
    for method in ("GET", "DELETE"):
        again = await surveys.request(method, path, headers=headers)
        assert again.status == 404 and again.content_type == "application/problem+json", method
    assert await audit(pool, draft["id"]) == ["survey.created", "survey.deleted"]

    answered = await opened(surveys, organisation_id, answered=True)
    before = await kept_of(pool, answered["id"])
    assert before["responses"] == 1
    refused = await surveys.delete(f"{API}/{answered['id']}", headers=headers)
    assert refused.status == 409 and refused.content_type == "application/problem+json"
    assert "only a draft" in (await refused.json())["detail"]
    assert (await surveys.post(f"{API}/{answered['id']}/close", headers=headers)).status == 200
    assert (await surveys.delete(f"{API}/{answered['id']}", headers=as_("admin"))).status == 409
    assert await kept_of(pool, answered["id"]) == before
    assert "survey.deleted" not in await audit(pool, answered["id"])

    # An admin deletes any organisation's draft.
    another = await created(surveys, uuid.uuid4())
    assert (await surveys.delete(f"{API}/{another['id']}", headers=as_("admin"))).status == 204
