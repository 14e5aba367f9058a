"""An organizer on a phone (390 x 844, Debian's Chromium, through nginx as `make run` starts it)
drafts a campaign, is shown an error beside the field with what they typed kept, sees the
audience's size and reach, launches it by keyboard, and reads its page in Spanish."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser

from services.engagement.accounts import store as accounts
from services.engagement.accounts.credentials import hash_password
from shared.auth import Grant, Role
from shared.settings import Settings
from tests import test_pages_in_browser
from tests.support.browser import fits, on_a_phone, sign_in
from tests.support.launcher import serving

pytestmark = pytest.mark.e2e

browser = test_pages_in_browser.browser  # the Chromium fixture
PASSWORD = "a long enough passphrase"
COUNTY = "Alameda County, California (test)"


async def _seed(conn: asyncpg.Connection, email: str) -> None:
    """An organisation and its organizer, and a county with its households, a ZIP region inside
    it and a resident there who confirmed they may be contacted."""
    organisation_id, account_id, county = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO organisations (id, name, kind) VALUES ($1, 'Bay Area makers', 'nonprofit')",
        organisation_id,
    )
    await accounts.insert_account(conn, account_id, email, "Olu Organizer", await hash_password(PASSWORD))
    await accounts.grant(conn, account_id, [Grant(role=Role.ORGANIZER, scope=organisation_id)])
    await conn.execute(
        "INSERT INTO regions (id, kind, name, geo_id) VALUES ($1, 'county', $2, '0500000US06001')",
        county,
        COUNTY,
    )
    await conn.execute(
        """INSERT INTO regions (kind, name, geo_id, parent_id)
           VALUES ('zip', 'ZIP 94607', '860Z200US94607', $1)""",
        county,
    )
    await conn.execute(
        """INSERT INTO baselines (region_id, dimension, band, estimate, source_table, source_year)
           VALUES ($1, 'tenure', 'total', 590000, 'B25003', 2024)""",
        county,
    )
    await conn.execute(
        """INSERT INTO people (id, display_name, language, postal_code, consent_to_contact,
                               consent_confirmed_at)
           VALUES ($1, 'Resident', 'en', '94607', true, now())""",
        uuid.uuid4(),
    )


@pytest.fixture
async def platform(run_settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """The address, and the organizer's e-mail address."""
    email = f"organizer-{uuid.uuid4().hex[:8]}@example.org"
    async with serving(run_settings, tmp_path, lambda conn: _seed(conn, email)) as site:
        yield site, email


async def test_an_organizer_drafts_and_launches_a_campaign_on_a_phone(
    browser: Browser, platform: tuple[str, str]
) -> None:
    site, email = platform
    context = await on_a_phone(browser)
    page = await context.new_page()
    await sign_in(page, site, email, PASSWORD)

    await page.get_by_role("link", name="Campaigns").click()
    await page.get_by_role("link", name="New campaign").click()
    await page.get_by_label("Title").fill("  ")
    await page.get_by_label("ZIP codes").fill("94607")
    await page.get_by_label(COUNTY).check()
    await page.get_by_role("button", name="Save").click()
    assert await page.locator("#title-error").is_visible()
    assert await page.get_by_label("Title").get_attribute("aria-invalid") == "true"
    assert await page.get_by_label("ZIP codes").input_value() == "94607"  # kept as typed
    assert await page.get_by_label(COUNTY).is_checked()
    assert await fits(page)

    await page.get_by_label("Title").fill("Manufacturing the Dream")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site}/console/campaigns/*?saved=1")
    campaign_url = page.url.split("?")[0]
    assert await page.get_by_text("1 person in the audience").is_visible()
    assert await page.get_by_text("1 of them confirmed they agree to be contacted.").is_visible()
    assert await page.get_by_role(
        "img", name="Share of the audience and share of households, by region"
    ).is_visible()
    table = page.get_by_role("table", name="The audience by region, against the region's households")
    assert "590,000" in await table.inner_text()
    outreach = page.get_by_role("table", name="Outreach so far")
    assert await outreach.get_by_text("0 people of the audience came to its meetings").is_visible()
    assert await outreach.get_by_text("0 responses to its surveys").is_visible()
    assert await fits(page)

    await page.get_by_role("button", name="Launch the campaign").focus()
    await page.keyboard.press("Enter")  # by keyboard
    await page.wait_for_url(f"{campaign_url}?launched=1")
    assert await page.get_by_role("status").inner_text() == "Launched: its audience is fixed."
    assert await page.get_by_role("button", name="Close the campaign").is_visible()
    assert await page.get_by_role("heading", name="Edit the draft").count() == 0

    await page.goto(f"{campaign_url}?lang=es")
    assert await page.get_by_role("heading", name="Alcance").is_visible()
    assert await page.get_by_text("1 persona en el público").is_visible()
    outreach = page.get_by_role("table", name="Alcance hasta ahora")
    assert await outreach.get_by_text("0 personas del público asistieron a sus reuniones").is_visible()
    assert await outreach.get_by_text("0 respuestas a sus encuestas").is_visible()
    assert await fits(page)
    await context.close()
