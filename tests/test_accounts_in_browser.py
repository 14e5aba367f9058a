"""Signing in and out in Debian's Chromium on a phone, through nginx as `make run` starts it:
one sign-in serves every service, and signing out ends it on every service at once."""

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from playwright.async_api import Browser

from services.engagement.accounts.admins import admin_account, create_admin
from shared.auth import SESSION_COOKIE
from shared.db import drop_database
from shared.settings import Settings
from tests.support.launcher import free_port, read_until, start_platform
from tests.test_pages_in_browser import browser  # noqa: F401  (the Chromium fixture)

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase"


@pytest.fixture
async def platform(run_settings: Settings, tmp_path: object) -> AsyncIterator[tuple[str, str]]:
    """The address, and an admin's e-mail address."""
    settings = run_settings.with_database(f"civic_signin_{uuid.uuid4().hex[:8]}").model_copy(
        update={
            "bus_prefix": f"signin{uuid.uuid4().hex[:6]}.",
            **{
                f"{name}_port": free_port()
                for name in ("proxy", "engagement", "surveys", "notifications", "smtp")
            },
        }
    )
    launcher = await start_platform(settings, tmp_path, "--no-demo")  # type: ignore[arg-type]
    assert launcher.stdout is not None
    try:
        line = await read_until(launcher.stdout, r"Open http://", [])
        email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
        conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": "engagement"})
        try:
            await create_admin(conn, admin_account(email, "Ada Admin", PASSWORD))
        finally:
            await conn.close()
        yield line.split("Open ", 1)[1].strip().rstrip("/"), email
    finally:
        if launcher.returncode is None:
            launcher.send_signal(signal.SIGINT)
        await asyncio.wait_for(launcher.stdout.read(), timeout=60)
        await launcher.wait()
        await drop_database(settings.migration_database_url)


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
