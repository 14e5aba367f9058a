"""A resident on a phone (390 x 844, Debian's Chromium, through nginx as `make run` starts it)
reads a decision's public page: who decided and how each member voted, the assessment, the
timeline, and that its ledger verifies; in Spanish too. The decision is the demo's rezoning,
loaded by its own loader."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser

from services.engagement.decisions import competition_demo, demo, handlers
from services.engagement.decisions.models import ConsultationKind
from shared.settings import Settings
from tests import test_pages_in_browser
from tests.support.browser import fits, on_a_phone
from tests.support.launcher import serving
from tests.test_decisions import a_response

pytestmark = pytest.mark.e2e

browser = test_pages_in_browser.browser  # the Chromium fixture
DECISION, COMPETITION = uuid.uuid4(), uuid.uuid4()


async def _seed(conn: asyncpg.Connection) -> None:
    organisation_id, region = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO organisations (id, name, kind) VALUES ($1, 'Urban makers', 'nonprofit')", organisation_id
    )
    await conn.execute("INSERT INTO regions (id, kind, name) VALUES ($1, 'city', 'Portland (test)')", region)
    survey = uuid.uuid4()
    consulted = ((ConsultationKind.SURVEY, survey),)
    assert await demo.load(conn, DECISION, organisation_id, region, consulted) == 1
    assert await demo.load(conn, DECISION, organisation_id, region, consulted) == 0  # once
    events = [a_response(survey, tenure=("renter",)) for _ in range(6)]
    async with conn.transaction():
        await handlers.on_responses_submitted(conn, events)
    assert await demo.finish(conn, DECISION) == 1
    assert await competition_demo.load(conn, COMPETITION, organisation_id, region) == 1


@pytest.fixture
async def platform(run_settings: Settings, tmp_path: Path) -> AsyncIterator[str]:
    async with serving(run_settings, tmp_path, _seed) as site:
        yield site


async def test_a_resident_reads_a_decision_and_its_votes_on_a_phone(browser: Browser, platform: str) -> None:
    site = platform
    context = await on_a_phone(browser)
    page = await context.new_page()
    await page.goto(f"{site}/decisions")
    await page.get_by_role("link", name="Demo: Rezone the Northside industrial site").click()
    await page.wait_for_url(f"{site}/decisions/{DECISION}")
    assert (
        await page.get_by_role("heading", level=1).inner_text()
        == "Demo: Rezone the Northside industrial site"
    )
    assert (await page.locator("#ledger-state").inner_text()).startswith("The ledger verifies: ")
    votes = page.get_by_role("table", name="Votes by name")
    rows = await votes.get_by_role("row").all_inner_texts()
    assert any("Demo: Councillor Carmen Liu" in row and "Against" in row for row in rows)
    assert any(
        "Demo: Councillor Dev Patel" in row and "Recused: Owns a business on the site" in row for row in rows
    )
    assert (
        await page.get_by_role("table", name="Affected groups")
        .get_by_text("Small manufacturers")
        .is_visible()
    )
    assert await page.get_by_text("Amended", exact=True).is_visible()
    assert await page.get_by_role("heading", name="Timeline").is_visible()
    assert await fits(page)

    consultations = await page.get_by_role("table", name="Who took part").get_by_role("row").all_inner_texts()
    assert any("6 responses" in row and "Residents asked for a park" in row for row in consultations)

    await page.goto(f"{site}/decisions/{COMPETITION}")
    scores = page.get_by_role("table", name="Applications and scores by reviewer (0 to 10, weighted)")
    headers = await scores.get_by_role("columnheader").all_inner_texts()
    assert "Demo: Reviewer Lucía Romero" in headers and "Weighted score" in headers
    assert len(await scores.get_by_role("row").all()) == 73  # the header and 72 applicants
    assert await scores.get_by_text("Conflict of interest: Advised this community's application").count() == 1
    assert await fits(page)  # the wide table scrolls inside its own region

    await page.goto(f"{site}/decisions/{DECISION}?lang=es")
    assert await page.get_by_role("table", name="Votos por nombre").is_visible()
    assert (await page.locator("#ledger-state").inner_text()).startswith("El registro se verifica")
    assert await fits(page)
    await context.close()
