"""The senders: background loops (started with the relay role, in as many replicas as wanted)
that claim due deliveries of their channel with FOR UPDATE SKIP LOCKED, decide each by the
person's consent and quiet hours at that moment, send what may go, and record every outcome in
one statement, with ``notification.failed`` for each permanent failure in the same transaction.

A claimed row holds a lease committed before sending: a sender killed mid-send leaves its
leases to run out, and the sweep records those rows failed as interrupted instead of sending
them again (the server may have taken them). A live sender renews its batch's leases as it
goes (leases.py), so a slow one is not taken for dead. Nothing else is sent twice: a row is
claimed by one sender at a time and a sent row is never claimed again."""

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.notifications.campaign_reach import tell_contacted
from services.notifications.deliveries import compose, leases, rules, store
from services.notifications.deliveries.transports import (
    Refused,
    SmsTransport,
    SmtpTransport,
    Transport,
    Unreachable,
)
from shared.cancellation import stop_if_cancelled
from shared.contracts import NotificationFailed
from shared.db import DbConnection
from shared.outbox import emit
from shared.settings import Settings

log = logging.getLogger(__name__)

PRODUCER = "notifications"
# A campaign's rows may be listed before its launch event is here: they wait, untried.
WAIT_FOR_CAMPAIGN_S = 2.0

Outcome = tuple[str, str | None, datetime | None, bool]  # state, reason, next attempt, attempt spent


def recipient_of(row: asyncpg.Record, contact: asyncpg.Record | None) -> rules.Recipient:
    if contact is None:
        return rules.Recipient(
            row["transactional"],
            row["channel"],
            row["purpose"],
            row["address"],
            None,
            None,
            False,
            frozenset(),
            False,
        )
    return rules.Recipient(
        transactional=row["transactional"],
        channel=row["channel"],
        purpose=row["purpose"],
        address=row["address"],
        contact_email=contact["email"],
        contact_phone=contact["phone"],
        consent_confirmed=contact["consent_confirmed"],
        consents=frozenset(contact["consents"]),
        unsubscribed=f"{row['channel']}:{row['purpose']}" in contact["unsubscribed"],
        quiet_start=contact["quiet_start"],
        quiet_end=contact["quiet_end"],
        time_zone=contact["time_zone"],
    )


class Worker:
    """One sender of one channel, over one connection of its own."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, channel: str, transport: Transport) -> None:
        self.pool = pool
        self.settings = settings
        self.channel = channel
        self.transport = transport
        self.per_second = settings.notice_rate_email if channel == "email" else settings.notice_rate_sms

    async def run(self) -> None:
        backoff = 0.5
        try:
            while True:
                stop_if_cancelled()
                try:
                    claimed = await self.once()
                    backoff = 0.5
                except Unreachable as exc:
                    log.warning("%s sender: %s; retrying in %.1fs", self.channel, exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                except (asyncpg.PostgresError, OSError) as exc:
                    log.warning("%s sender: %s: %s", self.channel, type(exc).__name__, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                if claimed == 0:
                    await asyncio.sleep(self.settings.mail_poll_s)
        finally:
            await self.transport.close()

    async def once(self) -> int:
        """One batch: claimed, decided, sent, recorded. Returns how many rows it claimed."""
        limit = self.settings.notice_batch
        if self.per_second > 0:
            async with self.pool.acquire() as conn:
                limit, next_window = await store.grant(conn, self.channel, limit, self.per_second)
                if limit == 0:
                    await store.defer_for_rate(conn, self.channel, self.settings.notice_batch, next_window)
                    await asyncio.sleep(max(0.0, (next_window - datetime.now(UTC)).total_seconds()))
                    return 1
        token = uuid.uuid4()
        async with self.pool.acquire() as conn:
            rows = await store.claim(conn, self.channel, limit, token, self.settings.notice_lease_s)
            if not rows:
                return 0
            people = await store.contacts(conn, [r["person_id"] for r in rows if not r["transactional"]])
            titles = await store.campaign_titles(
                conn, [r["params"]["campaign_id"] for r in rows if "campaign_id" in r["params"]]
            )
        outcomes: list[Outcome] = []
        unreachable: Unreachable | None = None
        lease = self.settings.notice_lease_s
        renewed, held = time.monotonic(), {r["id"] for r in rows}
        for row in rows:
            if time.monotonic() - renewed > lease / 3:  # the whole batch: sent rows await their record too
                async with self.pool.acquire() as conn:
                    held = await leases.renew(conn, token, [r["id"] for r in rows], lease)
                renewed = time.monotonic()
            if row["id"] not in held:  # swept while this sender was slow: the sweep's verdict stands
                outcomes.append(("pending", None, None, False))
                continue
            if unreachable is not None:
                outcomes.append(("pending", None, None, False))
                continue
            try:
                outcomes.append(await self._deliver(row, people.get(row["person_id"]), titles))
            except Unreachable as exc:
                unreachable = exc
                outcomes.append(("pending", None, None, False))
        await self._record(token, rows, outcomes)
        if unreachable is not None:
            raise unreachable
        return len(rows)

    async def _deliver(
        self, row: asyncpg.Record, contact: asyncpg.Record | None, titles: dict[str, tuple[str, list[str]]]
    ) -> Outcome:
        now = datetime.now(UTC)
        decision = rules.decide(recipient_of(row, contact), now)
        if isinstance(decision, rules.Suppress):
            return ("suppressed", decision.reason, None, True)
        if isinstance(decision, rules.Defer):
            return ("deferred", decision.reason, decision.until, False)
        params: dict[str, Any] = dict(row["params"])
        if "campaign_id" in params:
            if params["campaign_id"] not in titles:
                return ("pending", None, now + timedelta(seconds=WAIT_FOR_CAMPAIGN_S), False)
            params["title"], params["meeting_paths"] = titles[params["campaign_id"]]
        name = params.get("name") or (contact["display_name"] if contact is not None else None) or ""
        notice = compose.Notice(
            id=row["id"],
            kind=row["kind"],
            channel=row["channel"],
            purpose=row["purpose"],
            language=row["language"],
            person_id=row["person_id"],
            name=name,
            address=decision.address,
            params=params,
        )
        try:
            await self.transport.send(notice)
        except Refused as exc:
            outcome = rules.after_refusal(
                exc.code, exc.answer, row["attempts"], self.settings.notice_retry_s, now
            )
            return (outcome.state, outcome.reason, outcome.retry_at, True)
        except Unreachable:
            raise
        except Exception as exc:  # the notice could not be composed (a template's fault): not retried
            log.exception("delivery %s: could not compose", row["id"])
            return ("failed", f"could not compose: {type(exc).__name__}: {exc}"[:500], None, True)
        return ("sent", None, None, True)

    async def _record(self, token: uuid.UUID, rows: list[asyncpg.Record], outcomes: list[Outcome]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await store.record(
                conn,
                token,
                [r["id"] for r in rows],
                [o[0] for o in outcomes],
                [o[1] for o in outcomes],
                [o[2] for o in outcomes],
                [o[3] for o in outcomes],
            )
            for row, (state, reason, _, _) in zip(rows, outcomes, strict=True):
                if state == "failed":
                    await publish_failure(conn, row, reason or "")
            await tell_contacted(
                conn, [r["id"] for r, o in zip(rows, outcomes, strict=True) if o[0] == "sent"]
            )


async def publish_failure(conn: DbConnection, row: asyncpg.Record, reason: str) -> None:
    await emit(
        conn,
        NotificationFailed(
            delivery_id=row["id"],
            person_id=row["person_id"],
            subject=row["subject"],
            kind=row["kind"],
            channel=row["channel"],
            reason=reason[:500],
            failed_at=datetime.now(UTC),
        ),
        producer=PRODUCER,
        aggregate=f"person:{row['person_id']}",
    )


async def sweep(pool: asyncpg.Pool, settings: Settings) -> None:
    """Record the rows of senders that died mid-send, every lease's length or so."""
    while True:
        stop_if_cancelled()
        try:
            async with pool.acquire() as conn, conn.transaction():
                for row in await store.sweep_interrupted(conn):
                    await publish_failure(conn, row, row["reason"])
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("delivery sweep: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(min(settings.notice_lease_s / 4, 30.0))


async def send_notices(pool: asyncpg.Pool, settings: Settings) -> None:
    """Background job: the e-mail senders (one per connection), the SMS sender and the sweep."""
    workers = [
        Worker(pool, settings, "email", SmtpTransport(settings)) for _ in range(settings.notice_connections)
    ]
    workers.append(Worker(pool, settings, "sms", SmsTransport(settings)))
    # A task group, not gather: one loop's crash stops its siblings instead of orphaning them.
    async with asyncio.TaskGroup() as group:
        group.create_task(sweep(pool, settings))
        for worker in workers:
            group.create_task(worker.run())
