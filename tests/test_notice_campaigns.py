"""Campaign news through the delivery machinery, end to end through SMTP: only to people who
consent to it by e-mail, waiting out quiet hours, with List-Unsubscribe and its one-click POST
(RFC 8058) taken as a mail provider sends it; the report puts every listed person in one state
and adds up; the preferences page keeps what was typed beside a field it refuses."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.notifications.app import SPEC as NOTIFICATIONS
from shared.bus import Bus
from shared.contracts import AudienceMember, CampaignAudienceListed, CampaignLaunched
from shared.contracts.campaigns import Audience
from shared.runtime import build_app
from shared.settings import Settings
from tests.support.notices import apply, deliveries_of, drain
from tests.test_accounts import csrf_of
from tests.test_notices import notice_settings
from tests.test_organisations import as_
from tests.test_people_registration import Mailbox, address, smtp

__all__ = ["notice_settings", "smtp"]


@pytest.fixture
async def notifications(
    notice_settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus
) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(build_app(NOTIFICATIONS, notice_settings, pools["notifications"], bus)))
    await client.start_server()
    yield client
    await client.close()


async def a_contact(
    pool: asyncpg.Pool,
    *,
    consents: tuple[str, ...] = ("email:campaign_news",),
    email: str | None = "",
    confirmed: bool = True,
    quiet: tuple[time, time, str] | None = None,
) -> tuple[uuid.UUID, str | None]:
    """A contact point as notifications projects it from engagement's events."""
    person_id = uuid.uuid4()
    mail = address("p") if email == "" else email
    await pool.execute(
        """INSERT INTO contact_points (person_id, display_name, email, language, consent_requested,
                                       consent_confirmed_at, consents, quiet_start, quiet_end, time_zone)
           VALUES ($1, 'Pat', $2, 'en', true, $3, $4, $5, $6, $7)""",
        person_id,
        mail,
        datetime.now(UTC) if confirmed else None,
        list(consents),
        *(quiet or (None, None, None)),
    )
    return person_id, mail


async def launch(pool: asyncpg.Pool, organisation_id: uuid.UUID, people: list[uuid.UUID]) -> uuid.UUID:
    campaign_id = uuid.uuid4()
    members = tuple(AudienceMember(person_id=p, language="en") for p in people)
    # Listed before the launch arrives, as two relays may deliver them.
    await apply(
        pool,
        CampaignAudienceListed(
            campaign_id=campaign_id,
            organisation_id=organisation_id,
            survey_ids=(uuid.uuid4(),),
            part=1,
            parts=1,
            members=members,
        ),
    )
    await apply(
        pool,
        CampaignLaunched(
            campaign_id=campaign_id,
            organisation_id=organisation_id,
            title="Clean air for Northside",
            audience=Audience(),
            launched_at=datetime.now(UTC),
        ),
    )
    return campaign_id


def quiet_now() -> tuple[time, time, str]:
    """A quiet window holding this moment in Pacific time, ending an hour from now."""
    local = datetime.now(ZoneInfo("America/Los_Angeles"))
    return (
        (local - timedelta(hours=1)).time().replace(second=0, microsecond=0),
        (local + timedelta(hours=1)).time().replace(second=0, microsecond=0),
        "America/Los_Angeles",
    )


async def test_campaign_news_reaches_only_who_consents_and_the_report_adds_up(
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    notifications: TestClient,
) -> None:
    pool, (mailbox, _) = pools["notifications"], smtp
    organisation_id = uuid.uuid4()
    consenting = [await a_contact(pool) for _ in range(3)]
    meetings_only, _ = await a_contact(pool, consents=("email:meetings",))
    unconfirmed, _ = await a_contact(pool, confirmed=False)
    no_address, _ = await a_contact(pool, email=None)
    quiet, quiet_mail = await a_contact(pool, quiet=quiet_now())
    unknown = uuid.uuid4()  # listed by engagement, never a contact point here
    people = [p for p, _ in consenting] + [meetings_only, unconfirmed, no_address, quiet, unknown]
    campaign_id = await launch(pool, organisation_id, people)
    await drain(pool, notice_settings)

    for _, mail in consenting:
        [message] = mailbox.to(mail)
        assert message["Subject"] == "Clean air for Northside"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Unsubscribe"].startswith("<http://civic.test/notifications/u/")
    assert not mailbox.to(quiet_mail)
    states = {
        r["person_id"]: (r["state"], r["reason"])
        for r in await deliveries_of(pool, f"campaign:{campaign_id}")
    }
    assert states == {
        **{p: ("sent", None) for p, _ in consenting},
        meetings_only: ("suppressed", "no_consent"),
        unconfirmed: ("suppressed", "no_consent"),
        no_address: ("suppressed", "no_contact_point"),
        quiet: ("deferred", "quiet_hours"),
        unknown: ("suppressed", "no_consent"),
    }
    response = await notifications.get(
        f"/api/v1/notifications/campaigns/{campaign_id}/report", headers=as_(f"organizer:{organisation_id}")
    )
    report = await response.json()
    assert report["recipients"] == len(people) == sum(report["states"].values())
    assert report["states"] == {"sent": 3, "failed": 0, "suppressed": 4, "deferred": 1, "pending": 0}
    assert report["finished"] is False  # the quiet one still waits
    other = await notifications.get(
        f"/api/v1/notifications/campaigns/{campaign_id}/report", headers=as_(f"organizer:{uuid.uuid4()}")
    )
    assert other.status == 403
    page = await notifications.get(
        f"/notifications/console/campaigns/{campaign_id}", headers=as_(f"organizer:{organisation_id}")
    )
    assert page.status == 200 and "Deferred (quiet hours or rate limit)" in await page.text()


async def test_one_click_unsubscribe_as_a_mail_provider_posts_it(
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    notifications: TestClient,
) -> None:
    pool, (mailbox, _) = pools["notifications"], smtp
    person, mail = await a_contact(pool)
    assert mail is not None
    await launch(pool, uuid.uuid4(), [person])
    await drain(pool, notice_settings)
    [message] = mailbox.to(mail)
    url = message["List-Unsubscribe"].strip("<>").replace("http://civic.test", "")
    # As Gmail does: a POST with exactly this body, no cookie, no form token.
    async with aiohttp.ClientSession() as provider:
        answered = await provider.post(
            str(notifications.make_url(url)),
            data="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answered.status == 200
        forged = await provider.post(
            str(notifications.make_url(url[:-4] + "0000")),
            data="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert forged.status == 404
    event = await pool.fetchval(
        """SELECT payload FROM outbox
           WHERE routing_key = 'person.unsubscribed' AND payload->'data'->>'person_id' = $1""",
        str(person),
    )
    assert event is not None and event["data"]["how"] == "one_click"
    second = await launch(pool, uuid.uuid4(), [person])
    await drain(pool, notice_settings)
    assert len(mailbox.to(mail)) == 1
    [row] = await deliveries_of(pool, f"campaign:{second}")
    assert (row["state"], row["reason"]) == ("suppressed", "unsubscribed")

    page = await notifications.get(url)
    assert page.status == 200 and "You no longer receive campaign news by e-mail." in await page.text()
    refused = await notifications.post(
        f"{url}/preferences",
        data={
            "csrf": csrf_of(await page.text()),
            "receiving": "no",
            "quiet_start": "25:00",
            "quiet_end": "07:00",
            "time_zone": "America/Los_Angeles",
        },
    )
    text = await refused.text()
    assert refused.status == 422 and 'aria-invalid="true"' in text and 'value="25:00"' in text
    saved = await notifications.post(
        f"{url}/preferences",
        data={
            "csrf": csrf_of(text),
            "receiving": "yes",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "time_zone": "America/Los_Angeles",
        },
    )
    assert saved.status == 200 and "Your choices are saved." in await saved.text()
    spanish = await (await notifications.get(url, headers={"Accept-Language": "es"})).text()
    assert "Lo que le enviamos" in spanish and "Horas de silencio" in spanish
    row = await pool.fetchrow(
        "SELECT quiet_start, quiet_end FROM contact_points WHERE person_id = $1", person
    )
    assert (row["quiet_start"], row["quiet_end"]) == (time(22), time(7))
    assert not await pool.fetchval("SELECT count(*) FROM unsubscribes WHERE person_id = $1", person)
