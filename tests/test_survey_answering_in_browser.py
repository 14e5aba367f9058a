"""A resident answers a survey on a phone (390 x 844, Debian's Chromium, through nginx as `make
run` starts it), in Spanish, by keyboard only: the first page, a yes that opens the training
question on its own page, a rating and a comment, and the thank-you page. No page is wider than
the screen."""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import asyncpg
import pytest
from playwright.async_api import Browser, Page

from shared.i18n import translations
from shared.settings import Settings
from tests import test_pages_in_browser
from tests.support.browser import fits, on_a_phone
from tests.support.launcher import serving
from tests.support.surveys import a_survey

pytestmark = pytest.mark.e2e

browser = test_pages_in_browser.browser  # the Chromium fixture
es = translations("es").gettext


class _OneConnection:
    """The seed's connection where a_survey wants a pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        yield self.conn


async def tab_to(page: Page, wanted: str) -> None:
    """Press Tab until the element ``wanted`` (a CSS selector) has the focus."""
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("(wanted) => document.activeElement.matches(wanted)", wanted):
            return
    raise AssertionError(f"{wanted} is not reachable by Tab")


async def test_a_resident_answers_a_survey_with_a_branch_in_spanish_by_keyboard_on_a_phone(
    browser: Browser, run_settings: Settings, tmp_path: Path
) -> None:
    slugs = []

    async def a_survey_in_surveys(conn: asyncpg.Connection) -> None:
        await conn.execute("SET search_path TO surveys")
        survey = await a_survey(cast(asyncpg.Pool, _OneConnection(conn)))
        slugs.append(survey["slug"])

    async with serving(run_settings, tmp_path, a_survey_in_surveys) as site:
        context = await on_a_phone(browser)
        page = await context.new_page()
        await page.goto(f"{site}/surveys/s/{slugs[0]}?lang=es")
        assert await page.get_attribute("html", "lang") == "es"
        assert await page.get_by_role("heading", name=es("This survey is confidential.")).is_visible()
        assert await fits(page)
        await tab_to(page, "button[type=submit]")
        await page.keyboard.press("Enter")

        await page.wait_for_url(f"**/surveys/s/{slugs[0]}/page/1")
        assert await page.get_by_text(es("Page %(page)s of %(pages)s") % {"page": 1, "pages": 2}).is_visible()
        assert await fits(page)
        await tab_to(page, "#q-works_in_manufacturing-yes")
        await page.keyboard.press("Space")
        await tab_to(page, "button[value=next]")
        await page.keyboard.press("Enter")

        # The yes opened the training question, on the same page.
        await page.get_by_role("status").wait_for()
        assert await page.get_by_role("group", name="¿Qué capacitación le ayudaría?").is_visible()
        assert await page.get_by_label("Sí").is_checked()
        assert await fits(page)
        await tab_to(page, "#q-training-welding")
        await page.keyboard.press("Space")
        await tab_to(page, "button[value=next]")
        await page.keyboard.press("Enter")

        await page.wait_for_url(f"**/surveys/s/{slugs[0]}/page/2")
        assert await fits(page)
        await tab_to(page, "#q-plan_rating-0")
        for _ in range(8):
            await page.keyboard.press("ArrowRight")  # within a radio group: 0 to 8
        assert await page.locator("#q-plan_rating-8").is_checked()
        await tab_to(page, "#q-comment")
        await page.keyboard.type("Más talleres cerca de casa")
        await tab_to(page, "button[value=next]")
        assert await page.evaluate("document.activeElement.textContent") == es("Send my answers")
        await page.keyboard.press("Enter")

        await page.wait_for_url(f"**/surveys/s/{slugs[0]}/thanks?lang=es")
        assert await page.get_by_role("heading", name=es("Thank you")).is_visible()
        assert await page.get_attribute("html", "lang") == "es"
        assert await fits(page)
        await context.close()
