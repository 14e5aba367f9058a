"""Deliveries against an SMTP server that refuses: 421 then 250 for some recipients (retried
with backoff, delivered once), 550 for others (failed, published as notification.failed); the
report adds up, nobody holds two copies, and retrying the failures in one action sends nothing
to whoever got it. A sender that dies mid-send (its lease runs out) leaves its rows failed as
interrupted, never sent again."""

import socket
import uuid
from collections import Counter
from collections.abc import Iterator

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.notifications.deliveries import store
from services.notifications.deliveries.rules import INTERRUPTED
from services.notifications.deliveries.sender import sweep
from shared.settings import Settings
from tests.support.notices import a_meeting, apply, confirmed, deliveries_of, drain
from tests.support.waiting import eventually
from tests.test_accounts import csrf_of
from tests.test_notice_campaigns import notifications
from tests.test_notices import notice_settings
from tests.test_organisations import as_
from tests.test_people_registration import Mailbox, address

__all__ = ["notice_settings", "notifications"]


class Refusing(Mailbox):
    """Answers RCPT with 421 the first time for 'flaky' recipients, always 550 for 'refused' ones."""

    def __init__(self) -> None:
        super().__init__()
        self.tried: Counter[str] = Counter()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        self.tried[address] += 1
        if address.startswith("refused"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("flaky") and self.tried[address] == 1:
            return "421 4.7.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Refusing()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


async def test_refusals_leave_a_report_that_adds_up_and_nobody_with_two_copies(
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    notifications: object,
) -> None:
    pool, (mailbox, _) = pools["notifications"], smtp
    meeting = a_meeting()
    subject = f"meeting:{meeting.meeting_id}"
    addresses = [address(kind) for kind in ("flaky", "flaky", "refused", "refused", "fine", "fine")]
    for mail in addresses:
        await apply(pool, confirmed(meeting, mail))

    async def settled() -> list[asyncpg.Record]:
        await drain(pool, notice_settings)
        return await deliveries_of(pool, subject)

    rows = await eventually(settled, lambda rows: all(r["state"] != "pending" for r in rows))
    assert Counter(r["state"] for r in rows) == {"sent": 4, "failed": 2}
    assert {r["reason"] for r in rows if r["state"] == "failed"} == {"550 5.1.1 no such mailbox"}
    assert {r["attempts"] for r in rows if r["address"].startswith("flaky")} == {2}
    assert Counter(m["To"] for m in mailbox.messages if m["To"] in addresses) == {
        a: 1 for a in addresses if not a.startswith("refused")
    }
    failed_events = await pool.fetch(
        """SELECT payload FROM outbox
           WHERE routing_key = 'notification.failed' AND payload->'data'->>'subject' = $1""",
        subject,
    )
    assert len(failed_events) == 2 and "@" not in str(failed_events)  # no address travels

    client = notifications
    report = await (
        await client.get(
            f"/api/v1/notifications/meetings/{meeting.meeting_id}/report",  # type: ignore[attr-defined]
            headers=as_(f"organizer:{meeting.organisation_id}"),
        )
    ).json()
    assert report["recipients"] == 6 == sum(report["states"].values()) and report["finished"]
    retried = await client.post(
        f"/api/v1/notifications/meetings/{meeting.meeting_id}/report/retry",  # type: ignore[attr-defined]
        headers=as_(f"organizer:{meeting.organisation_id}"),
    )
    assert (await retried.json()) == {"retried": 2}
    rows = await eventually(settled, lambda rows: all(r["state"] != "pending" for r in rows))
    assert Counter(r["state"] for r in rows) == {"sent": 4, "failed": 2}
    assert Counter(m["To"] for m in mailbox.messages if m["To"] in addresses) == {
        a: 1 for a in addresses if not a.startswith("refused")
    }
    assert all(mailbox.tried[a] == 2 for a in addresses if a.startswith("refused"))  # each tried again once

    # The same from the console page, by its button (CSRF), as the host's organizer.
    organizer = as_(f"organizer:{meeting.organisation_id}")
    page = await client.get(f"/notifications/console/meetings/{meeting.meeting_id}", headers=organizer)  # type: ignore[attr-defined]
    text = await page.text()
    assert "Retry the failed deliveries" in text and "550 5.1.1 no such mailbox (2)" in text
    forged = await client.post(
        f"/notifications/console/meetings/{meeting.meeting_id}/retry",
        headers=organizer,  # type: ignore[attr-defined]
        data={"csrf": "forged"},
        allow_redirects=False,
    )
    assert forged.status == 403
    pressed = await client.post(
        f"/notifications/console/meetings/{meeting.meeting_id}/retry",
        headers=organizer,  # type: ignore[attr-defined]
        data={"csrf": csrf_of(text)},
        allow_redirects=False,
    )
    assert pressed.status == 303 and pressed.headers["Location"].endswith("?retried=2")
    rows = await eventually(settled, lambda rows: all(r["state"] != "pending" for r in rows))
    assert Counter(m["To"] for m in mailbox.messages if m["To"] in addresses) == {
        a: 1 for a in addresses if not a.startswith("refused")
    }


async def test_rows_of_a_sender_killed_mid_send_are_interrupted_not_sent_again(
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    background: object,
) -> None:
    pool, (mailbox, _) = pools["notifications"], smtp
    meeting = a_meeting()
    for kind in ("fine", "fine", "fine"):
        await apply(pool, confirmed(meeting, address(kind)))
    # A sender claimed them with a lease, then died before recording anything.
    async with pool.acquire() as conn:
        claimed = await store.claim(conn, "email", 10_000, uuid.uuid4(), 0.0)
    mine = [r for r in claimed if r["subject"] == f"meeting:{meeting.meeting_id}"]
    assert len(mine) == 3
    background(sweep(pool, notice_settings.model_copy(update={"notice_lease_s": 0.2})))  # type: ignore[operator]
    rows = await eventually(
        lambda: deliveries_of(pool, f"meeting:{meeting.meeting_id}"),
        lambda rows: all(r["state"] == "failed" for r in rows),
    )
    assert {r["reason"] for r in rows} == {INTERRUPTED}
    async with pool.acquire() as conn:
        assert await store.retry_failed(conn, f"meeting:{meeting.meeting_id}") == 0
    await drain(pool, notice_settings)
    assert not [m for m in mailbox.messages if m["To"] in {r["address"] for r in rows}]
