"""Notices across a dead notifications service, run as a real process (`python -m
services.notifications run --roles relay`) on a database of its own, into an aiosmtpd sink in
the test that counts every message per recipient.

Killed with SIGKILL mid-send (the sink holding its answers, so every sender is inside a batch),
then started again as two replicas: the report adds up to the audience, the 421-then-250
recipients got one copy, the 550 ones none, and nobody got two. A message the sink had taken
when the kill came (the sender never learnt it) is the one case a copy may exist for a row
not marked sent: its lease runs out and the row is recorded failed as interrupted, never sent
again (what the design guarantees; asserted exactly). A reminder falling due while the service
is down is sent once after it restarts."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from deploy.stack import SERVICES
from services.notifications.deliveries import report, store
from services.notifications.deliveries.rules import INTERRUPTED
from shared.db import create_pool, drop_database, ensure_database
from shared.runtime import apply_migrations
from shared.settings import Settings
from tests.support.launcher import environment, free_port
from tests.support.notices import a_meeting, apply, confirmed, deliveries_of
from tests.support.waiting import eventually
from tests.test_deliveries import Refusing

pytestmark = pytest.mark.e2e

AUDIENCE = 300
HOLD_AFTER = 60  # messages taken before the sink stops answering, until the kill


class CountingSink(Refusing):
    """The refusing sink (421 once for 'flaky' recipients, 550 always for 'refused' ones),
    counting copies per recipient, a few milliseconds per message; after ``hold_after``
    messages it keeps each new one (a copy the recipient has) but withholds the answer until
    ``release`` is set."""

    def __init__(self, hold_after: int | None = None) -> None:
        super().__init__()
        self.copies: Counter[str] = Counter()
        self.hold_after = hold_after
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self.copies[rcpt] += 1
            held = self.hold_after is not None and sum(self.copies.values()) > self.hold_after
        await asyncio.sleep(0.003)
        if held:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        return "250 OK"


@pytest.fixture
def sink_port() -> int:
    return free_port()


@contextlib.contextmanager
def serving_sink(sink: CountingSink, port: int) -> Iterator[CountingSink]:
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        sink.release.set()
        controller.stop()


@pytest.fixture
async def own_database(
    run_settings: Settings, sink_port: int
) -> AsyncIterator[tuple[Settings, asyncpg.Pool]]:
    """Notifications migrated on a database of the test's own: the service's senders take every
    due row, so none of another test's may be there."""
    settings = run_settings.with_database(f"civic_notices_{uuid.uuid4().hex[:8]}").model_copy(
        update={
            "bus_prefix": f"kill{uuid.uuid4().hex[:6]}.",
            "smtp_port": sink_port,
            "public_url": "http://civic.test",
            "notice_retry_s": [0.05, 0.1],
            "notice_batch": 20,
            "notice_lease_s": 3.0,
            "mail_poll_s": 0.1,
        }
    )
    await ensure_database(settings.migration_database_url)
    [notifications] = [spec for spec in SERVICES if spec.name == "notifications"]
    await apply_migrations(notifications, settings)
    pool = await create_pool(settings, "notifications")
    yield settings, pool
    await pool.close()
    await drop_database(settings.migration_database_url)


class Replicas:
    """Notifications' relay role (senders, sweep, reminders) as processes of the test's own."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, run_dir: Path) -> None:
        self.settings, self.pool, self.run_dir = settings, pool, run_dir
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            with (self.run_dir / "notifications.log").open("ab") as log:
                self.running.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "services.notifications", "run", "--roles", "relay"],
                        env=environment(self.settings, self.run_dir),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )
                )

    def kill(self) -> None:
        for process in self.running:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        self.running = []

    def log(self) -> str:
        path = self.run_dir / "notifications.log"
        return path.read_text()[-4000:] if path.exists() else ""


@pytest.fixture
def replicas(own_database: tuple[Settings, asyncpg.Pool], tmp_path: Path) -> Iterator[Replicas]:
    started = Replicas(*own_database, tmp_path)
    yield started
    for process in started.running:
        process.terminate()
        process.wait(timeout=15)


async def copies_of(sink: CountingSink, address: str) -> int:
    return sink.copies[address]


async def settled(pool: asyncpg.Pool, subject: str) -> list[asyncpg.Record]:
    """The subject's rows once none is pending, deferred or held under a lease."""
    return await eventually(
        lambda: deliveries_of(pool, subject),
        lambda rows: (
            bool(rows)
            and all(r["state"] not in ("pending", "deferred") and r["claimed_until"] is None for r in rows)
        ),
        timeout=90,
    )


async def test_killed_mid_send_and_restarted_the_report_adds_up_and_nobody_has_two_copies(
    replicas: Replicas,
) -> None:
    pool, sink_port = replicas.pool, replicas.settings.smtp_port
    meeting = a_meeting()
    subject = f"meeting:{meeting.meeting_id}"
    kinds = ["flaky"] * 30 + ["refused"] * 30 + ["fine"] * (AUDIENCE - 60)
    addresses = [f"{kind}-{n}-{uuid.uuid4().hex[:6]}@example.org" for n, kind in enumerate(kinds)]
    for address in addresses:
        await apply(pool, confirmed(meeting, address))

    with serving_sink(CountingSink(hold_after=HOLD_AFTER), sink_port) as sink:
        replicas.start()
        assert await asyncio.to_thread(sink.holding.wait, 60), replicas.log()
        # Every sender is inside a batch: the sink holds the answer to the message each sent.
        replicas.kill()
        sink.release.set()
        at_kill = Counter(r["state"] for r in await deliveries_of(pool, subject))
        assert at_kill["pending"] > 0, at_kill  # the kill came mid-send: some were never tried

        replicas.start(2)  # started again, as two replicas racing over what is left
        rows = await settled(pool, subject)

    by_address = {r["address"]: r for r in rows}
    assert len(rows) == AUDIENCE == len(by_address)
    async with pool.acquire() as conn:
        summary = report.summarise(subject, await store.report(conn, subject))
    assert summary.recipients == AUDIENCE == sum(summary.states.values()) and summary.finished

    assert max(sink.copies.values()) == 1  # nobody got two copies
    sent = [a for a, r in by_address.items() if r["state"] == "sent"]
    interrupted = [a for a, r in by_address.items() if r["reason"] == INTERRUPTED]
    refused = [a for a in addresses if a.startswith("refused")]
    assert all(sink.copies[a] == 1 for a in sent)
    assert all(sink.copies[a] == 0 for a in refused)
    assert {by_address[a]["reason"] for a in refused} <= {"550 5.1.1 no such mailbox", INTERRUPTED}
    # Every copy at the sink belongs to a sent row, or to an interrupted one: the messages
    # taken while their sender died. Those were never sent again, and at least the held
    # answers' were of them.
    assert set(sink.copies) == set(sent) | {a for a in interrupted if sink.copies[a]}
    assert any(sink.copies[a] == 1 for a in interrupted)
    assert all(sink.tried[a] <= 2 for a in addresses)  # no address tried after it was taken
    assert all(
        sink.copies[a] == 1 for a in addresses if a.startswith("flaky") and by_address[a]["state"] == "sent"
    )
    # Each failure, interrupted ones included, published as notification.failed once.
    failed = await pool.fetchval(
        """SELECT count(*) FROM outbox
           WHERE routing_key = 'notification.failed' AND payload->'data'->>'subject' = $1""",
        subject,
    )
    assert (
        failed
        == summary.states["failed"]
        == len(refused) + len([a for a in interrupted if not a.startswith("refused")])
    )


async def test_a_reminder_due_while_the_service_is_down_is_sent_once_after_it_restarts(
    replicas: Replicas,
) -> None:
    pool, sink_port = replicas.pool, replicas.settings.smtp_port
    meeting = a_meeting()
    subject = f"meeting:{meeting.meeting_id}"
    addresses = [f"fine-{n}-{uuid.uuid4().hex[:6]}@example.org" for n in range(5)]
    with serving_sink(CountingSink(), sink_port) as sink:
        replicas.start()
        for address in addresses:
            await apply(pool, confirmed(meeting, address))
        await settled(pool, subject)  # the confirmations went out
        replicas.kill()
        # Time passes while the service is down: both reminders fall due.
        await pool.execute(
            "UPDATE reminders SET due_at = clock_timestamp() - interval '1 second' WHERE meeting_id = $1",
            meeting.meeting_id,
        )
        replicas.start(2)
        rows = await eventually(
            lambda: settled(pool, subject),
            lambda rows: len([r for r in rows if r["kind"] == "reminder"]) == 2 * len(addresses),
            timeout=60,
        )
        # A later notice to everyone, sent after both replicas' schedulers had their rounds.
        await apply(pool, confirmed(meeting, "fine-last@example.org"))
        await eventually(lambda: copies_of(sink, "fine-last@example.org"), lambda n: n == 1)

    assert Counter(r["state"] for r in rows) == {"sent": 3 * len(addresses)}
    assert {a: sink.copies[a] for a in addresses} == dict.fromkeys(addresses, 3)  # confirmation, 24 h, 1 h
    assert await pool.fetchval(
        "SELECT count(*) FROM reminders WHERE meeting_id = $1 AND state = 'done'", meeting.meeting_id
    ) == 2 * len(addresses)
