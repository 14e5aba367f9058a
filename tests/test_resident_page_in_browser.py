"""A resident on a phone (390 x 844, Debian's Chromium, through nginx as `make run` starts it,
in Spanish, by keyboard) asks for a link to their page, receives it through the platform's SMTP
sink, opens it with the button, is shown an error beside a field with what they typed kept,
changes their details and consent, downloads their data and erases themselves."""

import json
import mailbox
import re
import uuid
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page

from shared.i18n import translations
from tests import test_accounts_in_browser, test_pages_in_browser
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

browser = test_pages_in_browser.browser  # the Chromium fixture
platform = test_accounts_in_browser.platform  # the platform, run in tmp_path; its sink keeps mail there
es = translations("es").gettext


async def fits(page: Page) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


async def link_mailed_to(run_dir: Path, address: str) -> str:
    async def links() -> list[str]:
        found = []
        for message in mailbox.Maildir(run_dir / "mail", create=False):
            if message["To"] == address:
                body = message.get_payload(decode=True).decode()
                found += re.findall(r"http://\S+/me/sign-in/[A-Za-z0-9_-]+", body)
        return found

    [link] = await eventually(links, lambda found: len(found) == 1)
    return link


async def test_a_resident_opens_changes_downloads_and_erases_their_page_on_a_phone(
    browser: Browser, platform: tuple[str, str], tmp_path: Path
) -> None:
    site, _admin = platform
    # deploy/run.py makes the sink's folder before the sink starts, so aiosmtpd's Maildir finds
    # it and makes no cur/new/tmp: every delivery fails until they exist.
    for folder in ("cur", "new", "tmp"):
        (tmp_path / "mail" / folder).mkdir(exist_ok=True)
    address = f"rosa-{uuid.uuid4().hex[:8]}@example.org"
    async with aiohttp.ClientSession() as http:
        registration = {"display_name": "Rosa", "email": address, "language": "es", "postal_code": "94607"}
        assert (await http.post(f"{site}/api/v1/people", json=registration)).status == 202
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, accept_downloads=True
    )
    page = await context.new_page()

    await page.goto(f"{site}/me?lang=es")
    assert await page.get_attribute("html", "lang") == "es"
    await page.get_by_label(es("E-mail address")).fill(address)
    await page.keyboard.press("Enter")  # by keyboard
    assert address in await page.get_by_role("status").inner_text()
    assert await fits(page)

    await page.goto(await link_mailed_to(tmp_path, address))
    await page.get_by_role("button", name=es("Open my page")).focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site}/me")
    assert await page.get_by_role("heading", name=es("Your page")).is_visible()
    assert await fits(page)

    await page.get_by_label(es("Phone number (optional)")).fill("12")
    await page.get_by_role("button", name=es("Save your details")).click()
    phone = page.get_by_label(es("Phone number (optional)"))
    assert await phone.get_attribute("aria-describedby") == "phone-error"
    assert await page.locator("#phone-error").is_visible()
    assert await phone.input_value() == "12"  # kept as typed
    assert await fits(page)
    await phone.fill("+1 510 555 0100")
    await phone.press("Enter")
    await page.wait_for_url(f"{site}/me?saved=details")
    assert await page.get_by_role("status").inner_text() == es("Your details are saved.")
    assert await page.get_by_text("+15105550100").is_visible()

    box = page.get_by_label(f"{es('Text message')}: {es('meetings')}")
    await box.focus()
    await page.keyboard.press("Space")
    await page.get_by_role("button", name=es("Save your choices")).click()
    await page.wait_for_url(f"{site}/me?saved=consents")
    assert await page.get_by_label(f"{es('Text message')}: {es('meetings')}").is_checked()

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name=es("Download all we hold about you (JSON)")).click()
    download = await downloading.value
    document = json.loads(Path(await download.path()).read_text())
    assert document["complete"] is True
    assert document["services"]["engagement"]["person"]["phone"] == "+15105550100"

    await page.get_by_role("link", name=es("Erase yourself")).click()
    await page.get_by_role("button", name=es("Yes, erase me")).click()
    assert await page.get_by_role("heading", name=es("You have been erased")).is_visible()
    await page.goto(f"{site}/me")
    assert await page.get_by_label(es("E-mail address")).is_visible()  # signed out: asked for a link
    await context.close()
