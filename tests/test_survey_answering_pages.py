"""The pages residents answer on, through the surveys app against the real database: the mode
said on the first page in the resident's language, a question opened by an answer on its own
page, errors beside the fields with what was typed kept, save and resume from the "continue
later" link, the language switched with the answers kept, CSRF, and the pages of each phase."""

import html
import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import ClientResponse, ClientSession, CookieJar
from aiohttp.test_utils import TestClient

from services.surveys.answering.pages import DRAFT_COOKIE
from services.surveys.answering.rules import invitation_hash
from shared.i18n import translations
from tests.support.surveys import a_survey, branching_document, surveys  # noqa: F401

es = translations("es").gettext


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the form has no CSRF token"
    return match.group(1)


def shown_of(page: str) -> list[str]:
    return re.findall(r'name="shown" value="([^"]+)"', page)


async def text(response: ClientResponse) -> str:
    return html.unescape(await response.text())


async def start(client: TestClient, slug: str, query: str = "") -> tuple[str, str]:
    """Open the first page and press Start: the first section's address and its page."""
    first = await client.get(f"/surveys/s/{slug}{query}")
    assert first.status == 200
    page = await first.text()
    form = {"csrf": csrf_of(page)}
    invitation = re.search(r'name="invitation" value="([^"]+)"', page)
    if invitation:
        form["invitation"] = invitation.group(1)
    begun = await client.post(f"/surveys/s/{slug}", data=form, allow_redirects=False)
    assert begun.status == 303
    location = begun.headers["Location"]
    return location, await (await client.get(location)).text()


async def test_a_resident_answers_with_a_branch_errors_resume_and_a_language_switch(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool, mode="anonymous")
    slug = survey["slug"]

    first = await surveys.get(f"/surveys/s/{slug}?lang=es")
    said = await text(first)
    assert '<html lang="es">' in said
    assert es("This survey is anonymous.") in said and "Manufacturando el Sueño" in said
    assert first.headers["Referrer-Policy"] == "no-referrer"

    page_1, page = await start(surveys, slug)
    assert page_1 == f"/surveys/s/{slug}/page/1"
    assert es("Page %(page)s of %(pages)s") % {"page": 1, "pages": 2} in html.unescape(page)
    assert shown_of(page) == ["works_in_manufacturing"]  # training waits for a yes
    key = surveys.session.cookie_jar.filter_cookies(surveys.make_url("/surveys/s/" + slug))[
        DRAFT_COOKIE
    ].value

    # Yes opens the training question on the same page, shown before going on.
    form = {
        "csrf": csrf_of(page),
        "shown": "works_in_manufacturing",
        "works_in_manufacturing": "yes",
        "go": "next",
    }
    again = await surveys.post(page_1, data=form, allow_redirects=False)
    assert again.status == 200
    page = await text(again)
    assert shown_of(page) == ["works_in_manufacturing", "training"]
    assert es("Your answer added a question to this page.") in page
    assert "Otra, especifique" in page
    # "Other" ticked with nothing written: the error is beside its field, the ticks kept.
    form = {
        "csrf": csrf_of(page),
        "shown": ["works_in_manufacturing", "training"],
        "works_in_manufacturing": "yes",
        "training": ["welding", "@other"],
        "go": "next",
    }
    refused = await surveys.post(page_1, data=form, allow_redirects=False)
    assert refused.status == 422
    page = await text(refused)
    assert 'id="q-training-other-error"' in page and 'aria-describedby="q-training-other-error"' in page
    assert '<a href="#q-training-other">' in page  # the summary links to the field
    assert re.search(r'value="welding"\s+checked', page) and re.search(r'value="@other"\s+checked', page)
    form["training.other"] = "Pintura"
    moved = await surveys.post(page_1, data=form, allow_redirects=False)
    assert (moved.status, moved.headers["Location"]) == (303, f"/surveys/s/{slug}/page/2")

    # Page 2: a required rating left out and a comment over its length; what was typed is kept.
    page = await (await surveys.get(f"/surveys/s/{slug}/page/2")).text()
    long_comment = "x" * 501
    form = {"csrf": csrf_of(page), "shown": ["plan_rating", "comment"], "comment": long_comment, "go": "next"}
    refused = await surveys.post(f"/surveys/s/{slug}/page/2", data=form, allow_redirects=False)
    assert refused.status == 422
    page = await text(refused)
    assert (
        es("Answer this question.") in page and es("Write up to %(max)s characters.") % {"max": 500} in page
    )
    assert f">{long_comment}</textarea>" in page
    assert 'aria-describedby="q-plan_rating-error"' in page

    # Another device: the "continue later" link brings the draft back, at page 2.
    assert f"?draft={key}" in page
    async with ClientSession(str(surveys.make_url("/")), cookie_jar=CookieJar(unsafe=True)) as other:
        resumed = await other.get(f"/surveys/s/{slug}?draft={key}", allow_redirects=False)
        assert (resumed.status, resumed.headers["Location"]) == (303, f"/surveys/s/{slug}/page/2")
        # In English now: the answers of page 1 are still there.
        back_in_english = await text(await other.get(f"/surveys/s/{slug}/page/1?lang=en"))
        assert '<html lang="en">' in back_in_english and "Which training would help you?" in back_in_english
        assert re.search(r'value="yes"\s+checked', back_in_english)
        assert 'value="Pintura"' in back_in_english
        page = await (await other.get(f"/surveys/s/{slug}/page/2")).text()
        assert '<html lang="en">' in page  # the draft keeps the language chosen
        form = {"csrf": csrf_of(page), "shown": ["plan_rating", "comment"], "plan_rating": "8", "go": "next"}
        sent = await other.post(f"/surveys/s/{slug}/page/2", data=form, allow_redirects=False)
        assert (sent.status, sent.headers["Location"]) == (303, f"/surveys/s/{slug}/thanks?lang=en")
        assert "Thank you" in await (await other.get(sent.headers["Location"])).text()
        # Sent twice (the first device's form): already answered, nothing more written.
        twice = await surveys.post(f"/surveys/s/{slug}/page/2", data=form, allow_redirects=False)
        assert twice.status == 409
        assert es("You have answered this survey already. Thank you.") in await text(twice)
    [pending] = await pool.fetch(
        "SELECT answers::text AS answers FROM anonymous_pending WHERE survey_id = $1", survey["id"]
    )
    assert '"Pintura"' in pending["answers"] and '"plan_rating": 8' in pending["answers"]
    assert await pool.fetchval("SELECT count(*) FROM drafts WHERE survey_id = $1", survey["id"]) == 0


async def test_a_form_without_its_csrf_token_saves_nothing(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    survey = await a_survey(pools["surveys"])
    page_1, _page = await start(surveys, survey["slug"])
    form = {"csrf": "forged", "shown": "works_in_manufacturing", "works_in_manufacturing": "no", "go": "next"}
    refused = await surveys.post(page_1, data=form, allow_redirects=False)
    assert refused.status == 422
    assert "This form had expired. Send it again." in await text(refused)
    assert re.search(r'value="no"\s+checked', await text(refused))  # kept as chosen
    saved = await pools["surveys"].fetchval(
        "SELECT answers::text FROM drafts WHERE survey_id = $1", survey["id"]
    )
    assert saved == "{}"


async def test_each_phase_and_invitation_has_its_page(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    soon = datetime(2031, 3, 1, 12, tzinfo=UTC)
    draft = await a_survey(pool, status="draft")
    scheduled = await a_survey(pool, opens_at=soon, closes_at=soon + timedelta(days=9))
    closed = await a_survey(pool, status="closed")
    invited = await a_survey(pool, access="invited", mode="identified")
    used, unused = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    for token, was_used in ((used, True), (unused, False)):
        await pool.execute(
            """INSERT INTO invitations (survey_id, person_id, token_hash, language, used)
               VALUES ($1, $2, $3, 'es', $4)""",
            invited["id"],
            uuid.uuid4(),
            invitation_hash(token),
            was_used,
        )

    async def page(path: str) -> tuple[int, str]:
        response = await surveys.get(path, headers={"Accept-Language": "es"})
        return response.status, await text(response)

    assert (await page(f"/surveys/s/{draft['slug']}"))[0] == 404
    assert (await page("/surveys/s/no-such-survey"))[0] == 404
    status, said = await page(f"/surveys/s/{scheduled['slug']}")
    assert status == 409 and es("This survey opens on %(day)s.") % {"day": "1 de marzo de 2031"} in said
    status, said = await page(f"/surveys/s/{closed['slug']}")
    assert status == 409 and es("This survey is closed. Thank you for your interest.") in said
    status, said = await page(f"/surveys/s/{invited['slug']}")
    assert (
        status == 403
        and es("This survey is answered by invitation only. Open the link in your invitation.") in said
    )
    status, said = await page(f"/surveys/s/{invited['slug']}?invitation={secrets.token_urlsafe(32)}")
    assert status == 403 and es("This invitation link is not valid for this survey.") in said
    status, said = await page(f"/surveys/s/{invited['slug']}?invitation={used}")
    assert status == 409 and es("You have answered this survey already. Thank you.") in said
    status, said = await page(f"/surveys/s/{invited['slug']}?invitation={unused}")
    assert status == 200 and es("In this survey your answers are linked to you.") in said
    # Its language links keep the invitation.
    assert f"?invitation={unused}&amp;lang=en" in said or f"?invitation={unused}&lang=en" in said
    page_1, _page = await start(surveys, invited["slug"], f"?invitation={unused}")
    token = await pool.fetchval("SELECT token_hash FROM drafts WHERE survey_id = $1", invited["id"])
    assert token == invitation_hash(unused)
    assert page_1.endswith("/page/1")


async def test_a_draft_started_on_a_version_is_answered_in_it_after_a_new_one(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool)
    page_1, page = await start(surveys, survey["slug"])
    newer = branching_document()
    newer["sections"][1]["questions"][0]["id"] = "plan_score"  # version 2 asks another question
    await pool.execute(
        "INSERT INTO survey_versions (survey_id, version, document) VALUES ($1, 2, $2::text::jsonb)",
        survey["id"],
        json.dumps(newer),
    )
    await pool.execute("UPDATE surveys SET current_version = 2 WHERE id = $1", survey["id"])
    form = {
        "csrf": csrf_of(page),
        "shown": "works_in_manufacturing",
        "works_in_manufacturing": "no",
        "go": "next",
    }
    assert (await surveys.post(page_1, data=form, allow_redirects=False)).status == 303
    page = await (await surveys.get(f"/surveys/s/{survey['slug']}/page/2")).text()
    assert shown_of(page) == ["plan_rating", "comment"]  # the draft's version
    form = {"csrf": csrf_of(page), "shown": ["plan_rating", "comment"], "plan_rating": "3", "go": "next"}
    assert (
        await surveys.post(f"/surveys/s/{survey['slug']}/page/2", data=form, allow_redirects=False)
    ).status == 303
    assert await pool.fetchval("SELECT version FROM responses WHERE survey_id = $1", survey["id"]) == 1
