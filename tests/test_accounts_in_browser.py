"""Signing in and out in Debian's Chromium on a phone, through nginx as `make run` starts it:
one sign-in serves every service, and signing out ends it on every service at once."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from playwright.async_api import Browser

from services.engagement.accounts.admins import admin_account, create_admin
from shared.auth import SESSION_COOKIE
from shared.settings import Settings
from tests.support.launcher import serving
from tests.test_pages_in_browser import browser  # noqa: F401  (the Chromium fixture)

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase"


@pytest.fixture
async def platform(run_settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """The address, and an admin's e-mail address."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"

    async def an_admin(conn: asyncpg.Connection) -> None:
        await create_admin(conn, admin_account(email, "Ada Admin", PASSWORD))

    async with serving(run_settings, tmp_path, an_admin) as site:
        yield site, email


async def test_sign_in_on_a_phone_then_sign_out_ends_the_session_on_another_service(
    browser: Browser,  # noqa: F811
    platform: tuple[str, str],
) -> None:
    site, email = platform
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()

    await page.goto(f"{site}/console/")  # not signed in: sent to sign in, and back after
    assert page.url.startswith(f"{site}/login?next=")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    assert await page.locator("#password-error").is_visible()
    assert await page.get_by_label("E-mail address").input_value() == email  # kept as typed
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{site}/console/")
    assert await page.locator("main h1").inner_text() == "Organizer console"
    assert await page.get_by_text("admin", exact=True).is_visible()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    [cookie] = [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    tally = f"{site}/api/v1/surveys/tally"
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie["value"]}) as http:
        assert (await http.get(tally)).status == 200  # surveys knows the account engagement signed in

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{site}/login?signed_out=1")
    assert await page.get_by_role("status").inner_text() == "You have signed out."

    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie["value"]}) as http:
        refused = await http.get(tally)  # the old session, replayed, on another service
        assert refused.status == 401
        assert refused.content_type == "application/problem+json"
    await context.add_cookies(
        [{"name": SESSION_COOKIE, "value": cookie["value"], "url": site}]
    )  # and in the browser, the console asks to sign in again
    await page.goto(f"{site}/console/")
    assert page.url.startswith(f"{site}/login?next=")
    await context.close()
