"""An organizer's whole first campaign on a phone (390 x 844, Debian's Chromium, through nginx as
`make run` starts it, from an empty platform): sign in, import the tenure baseline from the real
Census export, add an organisation, import a resident from CSV, draft a campaign over a county
and see its reach against the baseline just imported, launch it, sign out; the old session is
then refused by another service."""

import aiohttp
import pytest
from playwright.async_api import Browser

from shared.auth import SESSION_COOKIE
from tests import test_accounts_in_browser, test_pages_in_browser
from tests.support.browser import fits, on_a_phone, sign_in
from tests.test_regions_in_browser import TENURE

pytestmark = pytest.mark.e2e

browser = test_pages_in_browser.browser  # the Chromium fixture
platform = test_accounts_in_browser.platform  # the platform (no demo data) and an admin's address

ALAMEDA = "Alameda County, California"
RESIDENTS = f'name,email,zip,region,tags\nRosa Quintero,rosa@example.org,94607,"{ALAMEDA}",makers\n'


async def test_sign_in_import_a_baseline_launch_a_campaign_sign_out(
    browser: Browser, platform: tuple[str, str]
) -> None:
    site, email = platform
    context = await on_a_phone(browser)
    page = await context.new_page()
    await sign_in(page, site, email, test_accounts_in_browser.PASSWORD)

    # The baseline: the real export, its mapping reviewed, then confirmed.
    await page.get_by_role("link", name="Regions").click()
    await page.get_by_role("link", name="Import baselines").click()
    await page.get_by_label("ACS export (CSV)").set_input_files(TENURE)
    await page.get_by_role("button", name="Show the proposed mapping").click()
    await page.get_by_role("button", name="Import with this mapping").click()
    await page.wait_for_url(f"{site}/console/regions?imported=16")

    # The organisation that runs the campaign, and a resident of the county, from a CSV file.
    await page.goto(f"{site}/console/organisations")
    await page.get_by_role("link", name="New organisation").click()
    await page.get_by_label("Name").fill("East Bay Makers")
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_url(f"{site}/console/organisations?saved=1")
    await page.goto(f"{site}/console/")
    await page.get_by_role("link", name="People").click()
    await page.get_by_role("link", name="Import people from a CSV file").click()
    await page.get_by_label("CSV file").set_input_files(
        files=[{"name": "residents.csv", "mimeType": "text/csv", "buffer": RESIDENTS.encode()}]
    )
    await page.get_by_role("button", name="Import").click()
    await page.wait_for_url(f"{site}/console/people/import?imported=1&skipped=0")
    await page.goto(f"{site}/console/people")
    await page.get_by_label("Search by name, e-mail address, ZIP or tag").fill("makers")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site}/console/people?q=makers")
    assert await page.get_by_role("rowheader", name="Rosa Quintero").is_visible()

    # The campaign: drafted over the county, its reach measured against the imported households.
    await page.goto(f"{site}/console/")
    await page.get_by_role("link", name="Campaigns").click()
    await page.get_by_role("link", name="New campaign").click()
    await page.get_by_label("Title").fill("Manufacturing the Dream")
    await page.get_by_label(ALAMEDA).check()
    await page.get_by_role("button", name="Save").click()
    await page.wait_for_url(f"{site}/console/campaigns/*?saved=1")
    campaign_url = page.url.split("?")[0]
    assert await page.get_by_text("1 person in the audience").is_visible()
    reach = page.get_by_role("table", name="The audience by region, against the region's households")
    assert "598,246" in await reach.get_by_role("row").filter(has_text=ALAMEDA).inner_text()
    assert await fits(page)
    await page.get_by_role("button", name="Launch the campaign").focus()
    await page.keyboard.press("Enter")  # by keyboard
    await page.wait_for_url(f"{campaign_url}?launched=1")
    assert await page.get_by_role("status").inner_text() == "Launched: its audience is fixed."

    # Signing out ends the session on every service at once.
    [cookie] = [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]
    tally = f"{site}/api/v1/surveys/tally"
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie["value"]}) as http:
        assert (await http.get(tally)).status == 200
    await page.goto(f"{site}/console/")
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{site}/login?signed_out=1")
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie["value"]}) as http:
        refused = await http.get(tally)
        assert refused.status == 401
        assert refused.content_type == "application/problem+json"
    await context.close()
