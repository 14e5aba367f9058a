"""The demo's caught-mail page: it lists the sink's Maildir, shows a notice with its links and
its calendar entry, and exists only where CIVIC_MAIL_SINK_DIR names the sink's folder."""

import uuid
from pathlib import Path

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from services.notifications.app import SPEC as NOTIFICATIONS
from services.notifications.deliveries import compose
from shared.bus import Bus
from shared.runtime import build_app
from shared.settings import Settings
from tests.support.notices import a_meeting


async def client_for(settings: Settings, pool: asyncpg.Pool, bus: Bus) -> TestClient:
    client = TestClient(TestServer(build_app(NOTIFICATIONS, settings, pool, bus)))
    await client.start_server()
    return client


async def test_the_caught_mail_page_opens_a_notice_its_links_and_its_invite(
    settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus, tmp_path: Path
) -> None:
    meeting = a_meeting()
    notice = compose.Notice(
        id=1,
        kind="registration_confirmed",
        channel="email",
        purpose="meetings",
        language="en",
        person_id=uuid.uuid4(),
        name="Ana",
        address="ana@example.org",
        params={
            "meeting": meeting.model_dump(mode="json"),
            "link_path": "/meetings/r/" + "a" * 32,
            "join_url": "https://meet.example.org/equity",
        },
    )
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "1700000000.M1P1.host").write_bytes(compose.email(notice, settings).as_bytes())
    client = await client_for(
        settings.model_copy(update={"mail_sink_dir": str(tmp_path)}), pools["notifications"], bus
    )
    try:
        listing = await (await client.get("/notifications/mail/")).text()
        assert "Your seat at Equity indicators" in listing and "ana@example.org" in listing
        page = await (await client.get("/notifications/mail/1700000000.M1P1.host")).text()
        assert '<a href="https://meet.example.org/equity">' in page and "invite.ics" in page
        invite = await client.get("/notifications/mail/1700000000.M1P1.host/files/invite.ics")
        assert invite.status == 200 and b"METHOD:REQUEST" in await invite.read()
        assert (await client.get("/notifications/mail/..%2F..%2Fetc%2Fpasswd")).status == 404
    finally:
        await client.close()
    unguarded = await client_for(settings, pools["notifications"], bus)  # no sink folder configured
    try:
        assert (await unguarded.get("/notifications/mail/")).status == 404
    finally:
        await unguarded.close()
