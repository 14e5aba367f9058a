"""A member on a phone (390 x 844, Debian's Chromium, the platform as `make run` starts it, with
its SMTP sink and the caught-mail page): a webinar is scheduled and an organizer launches a
campaign to its region by keyboard; the campaign's message reaches the member, who consented,
by mail, and follows its link to the campaign's webinar; the member registers for it with an
access need, by keyboard, and sees the confirmation;
the confirmation notice arrives with its calendar invite, and its link opens their
registration with the need kept; then the campaign message's unsubscribe link opens their
preferences, where they stop campaign news."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page

from services.engagement.accounts import store as accounts
from services.engagement.accounts.credentials import hash_password
from services.engagement.campaigns import store as campaigns
from services.engagement.campaigns.models import Audience, CampaignFields
from services.engagement.meetings import changes as meetings
from services.engagement.meetings.rules import MeetingFields, TitleTexts
from services.engagement.people import PersonRegistration
from services.engagement.people.changing import change_consent
from services.engagement.people.consent import PERSON, ConsentChange, Method
from services.engagement.registration import confirm_consent, register_person
from shared.auth import Grant, Role
from shared.contracts import Consent
from shared.settings import Settings
from tests import test_pages_in_browser
from tests.support.browser import fits, on_a_phone, sign_in
from tests.support.launcher import serving
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

browser = test_pages_in_browser.browser  # the Chromium fixture
PASSWORD = "a long enough passphrase"
WEBINAR = "Equity indicators, in the open"
CAMPAIGN = "Count what matters"


class World:
    def __init__(self) -> None:
        self.organizer = f"organizer-{uuid.uuid4().hex[:8]}@example.org"
        self.member = f"member-{uuid.uuid4().hex[:8]}@example.org"
        self.meeting_id, self.campaign_id = uuid.uuid4(), uuid.uuid4()

    async def seed(self, conn: asyncpg.Connection) -> None:
        """An organisation and its organizer, a county with a ZIP inside it, a member there who
        confirmed they may be contacted, the organisation's webinar and its campaign's draft."""
        organisation_id, account_id, county = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO organisations (id, name, kind) VALUES ($1, 'Equity makers', 'nonprofit')",
            organisation_id,
        )
        await accounts.insert_account(
            conn, account_id, self.organizer, "Olu Organizer", await hash_password(PASSWORD)
        )
        await accounts.grant(conn, account_id, [Grant(role=Role.ORGANIZER, scope=organisation_id)])
        await conn.execute(
            "INSERT INTO regions (id, kind, name, geo_id) VALUES ($1, 'county', $2, '0500000US06001')",
            county,
            "Test County",
        )
        await conn.execute(
            """INSERT INTO regions (kind, name, geo_id, parent_id)
               VALUES ('zip', 'ZIP 94607', '860Z200US94607', $1)""",
            county,
        )
        member = PersonRegistration(
            display_name="Mara Member",
            email=self.member,
            language="en",
            postal_code="94607",
            consent_to_contact=True,
        )
        async with conn.transaction():
            registration = await register_person(conn, member)
            assert registration.confirmation_token is not None
            await confirm_consent(conn, registration.confirmation_token)
            news = ConsentChange(
                grant={Consent(channel="email", purpose="campaign_news")},
                method=Method.RESIDENT_PAGE,
                changed_by=PERSON,
            )
            await change_consent(conn, registration.person_id, news)
            starts = datetime.now(UTC).date() + timedelta(days=10)
            webinar = MeetingFields(
                kind="webinar",
                organisation_id=organisation_id,
                title=TitleTexts(en=WEBINAR, es="Indicadores de equidad, en abierto"),
                time_zone="America/Los_Angeles",
                starts=f"{starts}T17:00",
                ends=f"{starts}T18:00",
                join_url="https://meet.example.org/equity",
                capacity=50,
            )
            await meetings.schedule(conn, self.meeting_id, webinar, None, None)
            await campaigns.insert(
                conn,
                self.campaign_id,
                CampaignFields(
                    organisation_id=organisation_id,
                    title=CAMPAIGN,
                    goal="Bring the county's residents to the webinar on equity indicators.",
                    audience=Audience(region_ids=(county,)),
                    # Its audience is listed (and so sent its news) only for a linked survey.
                    survey_ids=(uuid.uuid4(),),
                    meeting_ids=(self.meeting_id,),
                ),
            )


@pytest.fixture
async def platform(run_settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[str, World]]:
    world = World()
    # make run shows its sink's folder on the caught-mail page; the settings name it here, as
    # the launcher's environment carries every setting (an empty one would hide the page).
    with_sink = run_settings.model_copy(update={"mail_sink_dir": str(tmp_path / "mail")})
    async with serving(with_sink, tmp_path, world.seed) as site:
        yield site, world


async def open_caught_mail(page: Page, site: str, subject: str, to: str) -> None:
    """The caught-mail page, reloaded until the message is there, then the message itself."""

    async def listed() -> int:
        await page.goto(f"{site}/notifications/mail/")
        row = page.get_by_role("row").filter(has_text=to).filter(has_text=subject)
        return await row.count()

    await eventually(listed, lambda n: n == 1, timeout=60, interval=0.5)
    await page.get_by_role("row").filter(has_text=to).filter(has_text=subject).get_by_role("link").click()
    await page.wait_for_url(f"{site}/notifications/mail/*")


async def test_a_member_hears_registers_with_an_access_need_and_unsubscribes_on_a_phone(
    browser: Browser, platform: tuple[str, World]
) -> None:
    site, world = platform
    context = await on_a_phone(browser)
    page = await context.new_page()

    # The organizer launches the campaign, by keyboard.
    await sign_in(page, site, world.organizer, PASSWORD)
    await page.goto(f"{site}/console/campaigns/{world.campaign_id}")
    await page.get_by_role("button", name="Launch the campaign").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site}/console/campaigns/{world.campaign_id}?launched=1")
    await context.clear_cookies()

    # Its message reaches the member, who consented to campaign news by e-mail.
    await open_caught_mail(page, site, CAMPAIGN, world.member)
    campaign_message = page.url
    assert await page.get_by_role("heading", name=CAMPAIGN).is_visible()
    assert await fits(page)

    # The message links the campaign's webinar: the member follows it, and registers with an
    # access need, by keyboard.
    await page.locator(f'a[href="{site}/meetings/{world.meeting_id}"]').first.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site}/meetings/{world.meeting_id}")
    assert await page.get_by_role("heading", name=WEBINAR).is_visible()
    assert await fits(page)
    await page.get_by_label("Your name").fill("Mara Member")
    await page.keyboard.press("Tab")
    await page.keyboard.type(world.member)  # the e-mail address, next in the tab order
    assert await page.get_by_label("E-mail address").input_value() == world.member
    await page.get_by_label("Live captions").focus()
    await page.keyboard.press("Space")
    assert await page.get_by_label("Live captions").is_checked()
    await page.get_by_role("button", name="Register").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site}/meetings/r/*")
    assert "You are registered." in await page.get_by_role("status").inner_text()
    assert await page.get_by_label("Live captions").is_checked()
    assert await page.get_by_text("https://meet.example.org/equity").is_visible()  # a seat: the join link
    assert await fits(page)
    personal_link = page.url.split("?")[0]

    # The confirmation reaches them with its invite; its link is their registration's.
    await open_caught_mail(page, site, WEBINAR, world.member)
    assert await page.get_by_role("link", name="invite.ics").count() == 1
    assert await fits(page)
    await page.locator(f'a[href^="{personal_link}"]').first.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{personal_link}*")
    assert await page.get_by_role("heading", name=f"Your registration: {WEBINAR}").is_visible()
    assert await page.get_by_label("Live captions").is_checked()

    # From the campaign's message, its unsubscribe link: the preferences, where they stop it.
    await page.goto(campaign_message)
    await page.locator('a[href*="/notifications/u/"]').first.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site}/notifications/u/*")
    assert await page.get_by_role("heading", name="What we send you").is_visible()
    assert await fits(page)
    await page.get_by_label("No, stop them").check()
    await page.get_by_role("button", name="Save").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site}/notifications/u/*?saved=1")
    assert await page.get_by_role("status").inner_text() == "Your choices are saved."
    assert "You no longer receive" in await page.locator("main").inner_text()
    await context.close()
