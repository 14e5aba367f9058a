"""The senders among themselves, against an in-process aiosmtpd that counts copies per
recipient (where nothing forbids a second one): concurrent sender replicas never send one
delivery twice; the send-rate limit is shared by replicas and defers what it holds back as
`rate_limit`; a sender slower than its lease keeps it (the sweep takes it for dead otherwise:
`notification.failed` published for rows then sent); a person's erasure removes their notice
rows and their address from every table of the service."""

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.notifications import handlers
from services.notifications.contacts import store as contacts
from services.notifications.contacts.unsubscribe_links import LinkFor
from services.notifications.deliveries import store
from services.notifications.deliveries.sender import Worker, sweep
from services.notifications.deliveries.transports import SmtpTransport
from shared.contracts import PersonErased
from shared.settings import Settings
from tests.support.launcher import free_port
from tests.support.notices import a_meeting, apply, confirmed, deliveries_of, drain, envelope_of


class Counting:
    """Counts each copy per recipient, taking ``delay_s`` over each message."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.copies: Counter[str] = Counter()
        self.delay_s = delay_s

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.copies.update(envelope.rcpt_tos)
        await asyncio.sleep(self.delay_s)
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Counting, int]]:
    counting, port = Counting(), free_port()
    controller = Controller(counting, hostname="127.0.0.1", port=port)
    controller.start()
    yield counting, port
    controller.stop()


@pytest.fixture
def sending(settings: Settings, sink: tuple[Counting, int]) -> Settings:
    return settings.model_copy(update={"smtp_port": sink[1], "public_url": "http://civic.test"})


async def registered(pool: asyncpg.Pool, count: int) -> tuple[str, list[str]]:
    """A meeting's confirmations to ``count`` registrants: its subject and their addresses."""
    meeting = a_meeting()
    addresses = [f"r{n}-{uuid.uuid4().hex[:8]}@example.org" for n in range(count)]
    for address in addresses:
        await apply(pool, confirmed(meeting, address))
    return f"meeting:{meeting.meeting_id}", addresses


async def failures_of(pool: asyncpg.Pool, subject: str) -> int:
    return int(
        await pool.fetchval(
            """SELECT count(*) FROM outbox
               WHERE routing_key = 'notification.failed' AND payload->'data'->>'subject' = $1""",
            subject,
        )
    )


async def test_concurrent_sender_replicas_never_send_one_delivery_twice(
    pools: dict[str, asyncpg.Pool], sending: Settings, sink: tuple[Counting, int]
) -> None:
    pool, (counting, _) = pools["notifications"], sink
    subject, addresses = await registered(pool, 150)
    small_batches = sending.model_copy(update={"notice_batch": 7})
    await asyncio.gather(*(drain(pool, small_batches) for _ in range(4)))  # four replicas at once
    rows = await deliveries_of(pool, subject)
    assert Counter(r["state"] for r in rows) == {"sent": 150}
    assert {r["attempts"] for r in rows} == {1}  # each claimed by one sender, once
    assert {a: counting.copies[a] for a in addresses} == dict.fromkeys(addresses, 1)


async def test_the_rate_limit_is_shared_by_replicas_and_defers_as_rate_limit(
    pools: dict[str, asyncpg.Pool],
    sending: Settings,
    sink: tuple[Counting, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool, (counting, _) = pools["notifications"], sink
    subject, addresses = await registered(pool, 10)
    limited = sending.model_copy(update={"notice_rate_email": 4})
    held_back: list[asyncpg.Record] = []
    defer = store.defer_for_rate

    async def deferring(conn: Any, channel: str, limit: int, until: datetime) -> int:
        deferred = await defer(conn, channel, limit, until)
        held_back.extend(r for r in await deliveries_of(pool, subject) if r["state"] == "deferred")
        return deferred

    monkeypatch.setattr(store, "defer_for_rate", deferring)
    granted: list[int] = []

    async def replica() -> None:
        worker = Worker(pool, limited, "email", SmtpTransport(limited))
        try:
            while await pool.fetchval(
                "SELECT count(*) FROM deliveries WHERE subject = $1 AND state <> 'sent'", subject
            ):
                await worker.once()
                granted.append(await pool.fetchval("SELECT used FROM send_windows WHERE channel = 'email'"))
        finally:
            await worker.transport.close()

    await asyncio.gather(replica(), replica())
    assert max(granted) <= 4  # never more than the limit in one window, whichever replica sent
    assert held_back and {(r["reason"], r["next_attempt_at"].microsecond) for r in held_back} == {
        ("rate_limit", 0)  # deferred to the start of the next one-second window
    }
    assert {a: counting.copies[a] for a in addresses} == dict.fromkeys(addresses, 1)
    assert [r["reason"] for r in await deliveries_of(pool, subject)] == [None] * 10


async def test_a_sender_slower_than_its_lease_keeps_it_and_nothing_is_called_interrupted(
    pools: dict[str, asyncpg.Pool],
    sending: Settings,
    sink: tuple[Counting, int],
    background: Any,
) -> None:
    pool, (counting, _) = pools["notifications"], sink
    counting.delay_s = 0.1  # twenty messages take two seconds, twice the lease
    short_lease = sending.model_copy(update={"notice_lease_s": 1.0, "notice_batch": 20})
    subject, addresses = await registered(pool, 20)
    background(sweep(pool, short_lease))
    await drain(pool, short_lease)
    rows = await deliveries_of(pool, subject)
    assert Counter(r["state"] for r in rows) == {"sent": 20}, [r["reason"] for r in rows]
    assert await failures_of(pool, subject) == 0
    assert {a: counting.copies[a] for a in addresses} == dict.fromkeys(addresses, 1)


async def test_erasure_removes_the_persons_notice_rows_and_address_from_every_table(
    pools: dict[str, asyncpg.Pool], sending: Settings
) -> None:
    pool = pools["notifications"]
    meeting = a_meeting()
    gone, kept = (f"{who}-{uuid.uuid4().hex}@example.org" for who in ("gone", "kept"))
    leaving, staying = confirmed(meeting, gone), confirmed(meeting, kept)
    for registration in (leaving, staying):
        await apply(pool, registration)
        async with pool.acquire() as conn, conn.transaction():
            await contacts.unsubscribe(
                conn, LinkFor(registration.person_id, "email", "campaign_news"), "one_click"
            )
    await drain(pool, sending)
    subject = f"meeting:{meeting.meeting_id}"
    assert len(await deliveries_of(pool, subject)) == 2
    assert (
        await pool.fetchval("SELECT count(*) FROM reminders WHERE meeting_id = $1", meeting.meeting_id) == 4
    )

    erased = PersonErased(person_id=leaving.person_id, erased_at=datetime.now(UTC))
    envelope = envelope_of(erased, f"person:{leaving.person_id}")
    await apply(pool, erased, envelope)  # the notices' subscription
    async with pool.acquire() as conn, conn.transaction():  # and the people's, as the platform routes it
        await handlers.PEOPLE.handler_for(erased)(erased, conn, envelope)

    for who, registration, left in ((gone, leaving, 0), (kept, staying, 1)):
        held = await pool.fetchrow(
            """SELECT (SELECT count(*) FROM deliveries WHERE person_id = $1) AS deliveries,
                      (SELECT count(*) FROM notice_registrations WHERE person_id = $1) AS registrations,
                      (SELECT count(*) FROM reminders WHERE registration_id = $2) AS reminders,
                      (SELECT count(*) FROM unsubscribes WHERE person_id = $1) AS unsubscribes""",
            registration.person_id,
            registration.registration_id,
        )
        assert dict(held) == {
            "deliveries": left,
            "registrations": left,
            "reminders": 2 * left,
            "unsubscribes": left,
        }
        tables = await pool.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'notifications' ORDER BY tablename"
        )
        holding = [
            t["tablename"]
            for t in tables
            if await pool.fetchval(
                f'SELECT count(*) FROM "{t["tablename"]}" t WHERE t::text LIKE $1', f"%{who}%"
            )
        ]
        assert holding == ([] if left == 0 else ["deliveries", "notice_registrations"]), who


class SwallowsOneCancel:
    """A send that is cancelled just as it finishes, and returns as accepted: what
    asyncio.wait_for (inside aiosmtplib) does on Python 3.11 when the two coincide."""

    def __init__(self) -> None:
        self.sending = asyncio.Event()

    async def send(self, notice: Any) -> None:
        self.sending.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)

    async def close(self) -> None:
        pass


async def test_a_sender_stops_when_cancelled_even_if_a_library_swallowed_the_cancel(
    pools: dict[str, asyncpg.Pool], sending: Settings
) -> None:
    pool = pools["notifications"]
    await registered(pool, 1)
    transport = SwallowsOneCancel()
    task = asyncio.create_task(Worker(pool, sending, "email", transport).run())
    await transport.sending.wait()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=30)  # a bound on a hang, not a timing
    try:
        assert done == {task}, "the sender carried on after it was cancelled"
        assert task.cancelled()
    finally:
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
