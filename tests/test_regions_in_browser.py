"""An admin on a phone (390 x 844, Debian's Chromium, through nginx as `make run` starts it)
imports the tenure export through the console: a bad file first (its row and column beside the
field), then the real one, whose proposed mapping they review and confirm by keyboard; a county's
page then shows its tenure chart beside the table, in English and in Spanish."""

from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests import test_accounts_in_browser, test_pages_in_browser
from tests.support.browser import fits, on_a_phone, sign_in

pytestmark = pytest.mark.e2e

browser = test_pages_in_browser.browser  # the Chromium fixture
platform = test_accounts_in_browser.platform  # the platform (no demo data) and an admin's address

TENURE = Path(__file__).resolve().parents[1] / "data" / "acs" / "ACSDT5Y2024.B25003-Data.target-counties.csv"


async def test_an_admin_imports_baselines_on_a_phone_and_reads_a_countys_tenure(
    browser: Browser, platform: tuple[str, str]
) -> None:
    site, email = platform
    context = await on_a_phone(browser)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    await sign_in(page, site, email, test_accounts_in_browser.PASSWORD)

    await page.get_by_role("link", name="Regions").click()
    await page.get_by_role("link", name="Import baselines").click()
    text = TENURE.read_text(encoding="utf-8-sig")
    bad = text.replace('"325509"', '"325,509"', 1)  # Alameda's owners, as a person might type them
    await page.get_by_label("ACS export (CSV)").set_input_files(
        files=[{"name": TENURE.name, "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    await page.get_by_role("button", name="Show the proposed mapping").click()
    error = page.locator("#file-error")
    assert "row 3, column B25003_002E" in await error.inner_text()
    assert await page.get_by_label("ACS export (CSV)").get_attribute("aria-describedby") == "file-error"
    assert await fits(page)

    await page.get_by_label("ACS export (CSV)").set_input_files(TENURE)
    await page.get_by_role("button", name="Show the proposed mapping").click()
    mapping = page.get_by_role("table", name="Each column of the export and the platform's band it counts in")
    owner = mapping.get_by_role("row").filter(has_text="B25003_002E")
    assert "Owner" in await owner.inner_text()
    assert "Renter" in await mapping.get_by_role("row").filter(has_text="B25003_003E").inner_text()
    assert await page.get_by_text("None: every column is mapped.").is_visible()
    assert await fits(page)
    await page.get_by_role("button", name="Import with this mapping").focus()
    await page.keyboard.press("Enter")  # by keyboard
    await page.wait_for_url(f"{site}/console/regions?imported=16")
    assert "Baselines imported" in await page.get_by_role("status").inner_text()

    await page.get_by_label("Search by name").fill("Alameda")
    await page.keyboard.press("Enter")
    await page.get_by_role("link", name="Alameda County, California").click()
    assert await page.get_by_role("heading", name="Tenure: households (occupied housing units)").is_visible()
    chart = page.get_by_role("img", name="Tenure of households (occupied housing units): table B25003, 2024")
    assert await chart.is_visible()
    table = page.get_by_role("table", name="Tenure: table B25003, 2024")
    renters = await table.get_by_role("row").filter(has_text="Renter").inner_text()
    assert "272,737" in renters and "± 2,935" in renters and "45.6%" in renters
    assert await page.get_by_text("Margins of error at 90 %").is_visible()
    assert await fits(page)

    await page.get_by_role("link", name="Español").click()
    assert await page.get_by_role("table", name="Régimen de tenencia: tabla B25003, 2024").is_visible()
    assert await fits(page)
    # The policy refused nothing: no inline style or script on these pages (the bad file's 422 is
    # the one other error a browser reports).
    assert [e for e in errors if "Content Security Policy" in e] == []
    await context.close()
