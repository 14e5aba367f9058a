"""The pages in real headless Chromium: on a phone, by keyboard, in English and Spanish."""

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright

from services.engagement.app import SPEC as ENGAGEMENT
from shared.bus import Bus
from shared.runtime import build_app
from shared.settings import Settings

CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def site(settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus) -> AsyncIterator[str]:
    server = TestServer(build_app(ENGAGEMENT, settings, pools["engagement"], bus))
    await server.start_server()
    yield str(server.make_url("/"))
    await server.close()


async def test_home_on_a_phone_by_keyboard_in_both_languages(browser: Browser, site: str) -> None:
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    console_errors: list[str] = []
    page.on(
        "console", lambda message: console_errors.append(message.text) if message.type == "error" else None
    )

    response = await page.goto(site)
    assert response is not None and "style-src 'self'" in response.headers["content-security-policy"]
    # The style sheet applies under that policy: it is a file, not inline.
    assert await page.evaluate("getComputedStyle(document.body).maxWidth") == "768px"
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert await page.get_attribute("html", "lang") == "en"
    assert await page.locator("main h1").inner_text() == "Civic engagement platform"

    # The first Tab lands on the skip link, and following it moves past the navigation.
    await page.keyboard.press("Tab")
    focused = page.locator(":focus")
    assert await focused.inner_text() == "Skip to content"
    assert await focused.is_visible()
    await page.keyboard.press("Enter")
    assert page.url.endswith("#main")

    # From the top of a fresh page, reach the language switch by keyboard alone; choose Spanish.
    await page.goto(site)
    for _ in range(10):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent") == "Español":
            break
    else:
        raise AssertionError("the language switch is not reachable by keyboard")
    await page.keyboard.press("Enter")
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "es"
    assert await page.locator("main h1").inner_text() == "Plataforma de participación cívica"

    # The choice sticks: the next page, opened without ?lang, is in Spanish too.
    await page.goto(site + "engagement/")
    assert await page.get_attribute("html", "lang") == "es"
    assert (
        await page.get_by_role("table").get_by_role("rowheader").first.inner_text() == "Personas registradas"
    )
    assert console_errors == []
    await context.close()


async def test_a_missing_page_in_spanish_keeps_the_reader_oriented(browser: Browser, site: str) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="es-ES")
    page = await context.new_page()
    response = await page.goto(site + "nowhere?ref=mail")
    assert response is not None and response.status == 404
    assert await page.locator("main h1").inner_text() == "Página no encontrada"
    request_id = response.headers["x-request-id"]
    assert await page.locator("main code").inner_text() == request_id
    # Switching language keeps the page and its query.
    await page.get_by_role("link", name="English").click()
    await page.wait_for_load_state()
    assert page.url.endswith("/nowhere?ref=mail&lang=en")
    assert await page.locator("main h1").inner_text() == "Page not found"
    await context.close()
