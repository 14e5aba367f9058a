"""The platform as `make run` starts it: one address through nginx, every service ready, demo
data loaded once, and SIGINT (Ctrl-C) stopping every process it started."""

import asyncio
import email
import email.policy
import os
import re
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import icalendar
import psutil
import pytest

from deploy.stack import prepare
from services.engagement import demo
from services.notifications.calendar import uid
from services.surveys import demo as survey_demo
from shared.db import drop_database
from shared.settings import Settings
from tests.support.launcher import free_port, read_until, start_platform
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
async def platform_settings(run_settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    settings = run_settings.with_database(f"civic_e2e_{uuid.uuid4().hex[:8]}").model_copy(
        update={
            "bus_prefix": f"e2e{uuid.uuid4().hex[:6]}.",
            **{
                f"{name}_port": free_port()
                for name in ("proxy", "engagement", "surveys", "notifications", "smtp")
            },
        }
    )
    yield settings
    await drop_database(settings.migration_database_url)


async def invites_in(inbox: Path) -> set[tuple[str, str, int, str]]:
    """(METHOD, UID, SEQUENCE, STATUS) of every calendar entry in the sink's messages."""
    found = set()
    for path in inbox.iterdir() if inbox.is_dir() else ():
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
                for entry in calendar.walk("VEVENT"):
                    found.add(
                        (
                            str(calendar["METHOD"]),
                            str(entry["UID"]),
                            int(entry["SEQUENCE"]),
                            str(entry["STATUS"]),
                        )
                    )
    return found


async def test_make_run_serves_one_address_and_stops_cleanly(
    platform_settings: Settings, tmp_path: Path
) -> None:
    launcher = await start_platform(platform_settings, tmp_path)
    assert launcher.stdout is not None
    output: list[str] = []
    try:
        started = await read_until(launcher.stdout, r"^started: ", output)
        children = [int(pid) for pid in re.findall(r"pid (\d+)", started)]
        assert len(children) == 5  # smtp sink, engagement, surveys, notifications, nginx
        loaded = await read_until(launcher.stdout, r"^demo survey responses loaded: ", output)
        demo_responses = survey_demo.DREAM.responses + survey_demo.NORTHSIDE.responses
        assert loaded.split(": ")[1].strip() == str(demo_responses)
        address_line = await read_until(launcher.stdout, r"Open http://", output)
        address = address_line.split("Open ", 1)[1].strip()
        assert address == f"http://127.0.0.1:{platform_settings.proxy_port}/"

        async with aiohttp.ClientSession(address) as http:
            home = await (await http.get("/")).text()
            for service in ("engagement", "surveys", "notifications"):
                assert f'href="/{service}/"' in home
                ready = await http.get(f"/{service}/readyz")
                assert ready.status == 200, await ready.text()
                page = await http.get(f"/{service}/")
                assert page.status == 200
            # The demo's surveys take answers, in Spanish too.
            for slug in (survey_demo.DREAM.slug, survey_demo.NORTHSIDE.slug):
                start = await http.get(f"/surveys/s/{slug}?lang=es")
                assert start.status == 200 and "Demo:" in await start.text()
            created = await http.post(
                "/api/v1/people",
                json={
                    "display_name": "Through the proxy",
                    "email": "proxy@example.org",
                    "consent_to_contact": True,
                },
            )
            assert created.status == 202
            assert created.headers["X-Request-Id"]  # nginx's request id reached the service and came back

        # A service that dies is started again by the launcher, and the platform carries on.
        surveys_pid = children[2]
        os.kill(surveys_pid, signal.SIGKILL)
        restarted = await read_until(launcher.stdout, r"^surveys exited", output)
        children.append(int(re.findall(r"pid (\d+)", restarted)[0]))
        async with aiohttp.ClientSession(address) as http:

            async def surveys_ready() -> int:
                try:
                    return (await http.get("/surveys/readyz")).status
                except aiohttp.ClientError:
                    return 0

            await eventually(surveys_ready, lambda status: status == 200, timeout=60)

        # The demo people and the one above, announced through the bus to the other services.
        db = await asyncpg.connect(platform_settings.database_url)
        try:
            people = await db.fetchval("SELECT count(*) FROM engagement.people")
            assert people > 1
            for table in ("notifications.contact_points", "surveys.respondents"):
                await eventually(
                    lambda table=table: db.fetchval(f"SELECT count(*) FROM {table}"),
                    lambda n: n == people,
                    timeout=60,
                )
        finally:
            await db.close()

        # The registration's confirmation request was mailed to the SMTP sink's mailbox.
        async def mailed() -> list[str]:
            inbox = tmp_path / "mail" / "new"
            return [m.read_text() for m in inbox.iterdir()] if inbox.is_dir() else []

        await eventually(mailed, lambda mails: any("proxy@example.org" in m for m in mails), timeout=60)
        # The demo's meetings reached their registrants' mailboxes in the sink: the webinar's
        # invitation and its update (one UID, rising SEQUENCE), the hearing's cancellation.
        webinar, hearing = uid(str(demo.DEMO_WEBINAR_ID)), uid(str(demo.DEMO_HEARING_ID))
        wanted = {("REQUEST", webinar, 0, "CONFIRMED"), ("REQUEST", webinar, 1, "CONFIRMED")}
        wanted.add(("CANCEL", hearing, 1, "CANCELLED"))
        await eventually(
            lambda: invites_in(tmp_path / "mail" / "new"), lambda found: wanted <= found, timeout=90
        )
        # Loading the demo data again (a second `make run`) changes nothing.
        assert (await prepare(platform_settings))["demo_people"] == 0
    finally:
        if launcher.returncode is None:
            launcher.send_signal(signal.SIGINT)
        rest = await asyncio.wait_for(launcher.stdout.read(), timeout=60)
        output.append(rest.decode())
        await launcher.wait()
    assert launcher.returncode == 0, "".join(output)
    assert "stopped everything" in output[-1]
    leftovers = [
        pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
    ]
    assert leftovers == [], f"still running after Ctrl-C: {leftovers}"
