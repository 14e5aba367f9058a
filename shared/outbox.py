"""The transactional outbox: events are written with the state change and published later by
any number of relays, each claiming unsent rows with FOR UPDATE SKIP LOCKED."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from prometheus_client import Counter, Gauge

from shared.bus import Bus
from shared.cancellation import stop_if_cancelled
from shared.contracts import Envelope, Event
from shared.crashpoints import crash_point
from shared.db import CONNECTION_ERRORS, DbConnection
from shared.settings import Settings

log = logging.getLogger(__name__)

RELAYED = Counter("civic_outbox_published_total", "Outbox events published", ["schema"])
RELAY_ERRORS = Counter("civic_outbox_relay_errors_total", "Relay rounds that failed", ["schema"])
BACKLOG = Gauge("civic_outbox_backlog", "Events written but not yet published", ["schema"])
BACKLOG_AGE = Gauge("civic_outbox_backlog_age_seconds", "Age of the oldest unpublished event", ["schema"])
BACKLOG_EVERY_S = 5.0


@dataclass(frozen=True)
class Emission:
    """Events about one aggregate ("person:<id>", or None), written together."""

    events: Sequence[Event]
    aggregate: str | None = None
    correlation_id: str | None = None
    causation_id: UUID | None = None
    actor: str | None = None


async def emit(
    conn: DbConnection,
    events: Event | Sequence[Event],
    *,
    producer: str,
    correlation_id: str | None = None,
    causation_id: UUID | None = None,
    actor: str | None = None,
    aggregate: str | None = None,
) -> list[Envelope]:
    """Write events to the outbox of the connection's schema, inside the caller's transaction.

    With ``aggregate`` ("person:<id>"), the events are numbered in that aggregate's sequence,
    so consumers can refuse stale ones, and erasure can find the aggregate's rows."""
    batch = [events] if isinstance(events, Event) else list(events)
    [envelopes] = await emit_many(
        conn, [Emission(batch, aggregate, correlation_id, causation_id, actor)], producer=producer
    )
    return envelopes


async def emit_many(
    conn: DbConnection, emissions: Sequence[Emission], *, producer: str
) -> list[list[Envelope]]:
    """``emit`` for many aggregates at once (a group commit of many requests): one statement
    numbers every aggregate's events, one writes every row and a single NOTIFY. Returns each
    emission's envelopes, in order."""
    if not conn.is_in_transaction():
        raise RuntimeError("emit() must run inside the transaction that changes the state")
    first = await _number(conn, emissions)
    envelopes = [
        [
            Envelope.wrap(
                event,
                producer=producer,
                correlation_id=e.correlation_id,
                causation_id=e.causation_id,
                actor=e.actor,
                aggregate=e.aggregate,
                sequence=None if e.aggregate is None else first[n] + k,
            )
            for k, event in enumerate(e.events)
        ]
        for n, e in enumerate(emissions)
    ]
    written = [(env, e.aggregate) for e, envs in zip(emissions, envelopes, strict=True) for env in envs]
    # The rows and the relays' wake-up in one statement: executemany for the one row a request
    # writes, then a second round trip for the NOTIFY, were two thirds of register_person's
    # time when profiled. The NOTIFY is a hint only: relays also poll, so a lost one delays little.
    await conn.execute(
        """WITH written AS (
               INSERT INTO outbox (event_id, routing_key, payload, aggregate)
               SELECT id, key, body::jsonb, aggregate
               FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS e(id, key, body, aggregate))
           SELECT pg_notify(current_schema() || '_outbox', '')""",
        [env.id for env, _ in written],
        [env.type for env, _ in written],
        [env.model_dump_json() for env, _ in written],
        [aggregate for _, aggregate in written],
    )
    return envelopes


async def _number(conn: DbConnection, emissions: Sequence[Emission]) -> list[int]:
    """The sequence number of each emission's first event (0 where it has no aggregate). The
    counter rows' locks order concurrent writers of one aggregate: numbers follow commit order."""
    counts: dict[str, int] = {}
    for e in emissions:
        if e.aggregate is not None:
            counts[e.aggregate] = counts.get(e.aggregate, 0) + len(e.events)
    if not counts:
        return [0] * len(emissions)
    # Sorted, so two batches lock shared aggregates in one order and cannot deadlock.
    aggregates = sorted(counts)
    rows = await conn.fetch(
        """INSERT INTO aggregate_sequences AS s (aggregate, sequence)
           SELECT * FROM unnest($1::text[], $2::bigint[])
           ON CONFLICT (aggregate) DO UPDATE SET sequence = s.sequence + EXCLUDED.sequence
           RETURNING aggregate, sequence""",
        aggregates,
        [counts[a] for a in aggregates],
    )
    # The last number of each aggregate, handed out from its first in the emissions' order.
    next_of = {r["aggregate"]: r["sequence"] - counts[r["aggregate"]] + 1 for r in rows}
    first = []
    for e in emissions:
        if e.aggregate is None:
            first.append(0)
            continue
        first.append(next_of[e.aggregate])
        next_of[e.aggregate] += len(e.events)
    return first


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, bus: Bus, schema: str, settings: Settings) -> None:
        self.pool = pool
        self.bus = bus
        self.schema = schema
        self.batch = settings.relay_batch
        self.poll_s = settings.relay_poll_s
        self.database_url = settings.database_url
        self._wake = asyncio.Event()

    async def publish_batch(self) -> int:
        """Claim, publish with confirms, mark sent: one transaction. A crash after publishing and
        before the commit re-publishes the rows; consumers' inboxes drop the second copy."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT id, event_id, routing_key, payload::text AS body FROM outbox
                   WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
                self.batch,
            )
            if not rows:
                return 0
            await self.bus.publish_many(
                (r["routing_key"], r["body"].encode(), str(r["event_id"])) for r in rows
            )
            crash_point("relay.after_publish_before_mark")
            await conn.execute(
                "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
        RELAYED.labels(self.schema).inc(len(rows))
        return len(rows)

    async def measure_backlog(self) -> None:
        row = await self.pool.fetchrow(
            """SELECT count(*) AS events,
                      coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0) AS age
               FROM outbox WHERE published_at IS NULL"""
        )
        assert row is not None
        BACKLOG.labels(self.schema).set(row["events"])
        BACKLOG_AGE.labels(self.schema).set(float(row["age"]))

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        backoff = 0.1
        measured_at = 0.0
        try:
            while True:
                stop_if_cancelled()
                self._wake.clear()
                try:
                    if time.monotonic() - measured_at > BACKLOG_EVERY_S:
                        await self.measure_backlog()
                        measured_at = time.monotonic()
                    published = await self.publish_batch()
                    backoff = 0.1
                except Exception as exc:
                    # Whatever failed (database, broker, a closed channel), the rows stay unsent
                    # and are claimed again: a relay never stops over a transient fault.
                    RELAY_ERRORS.labels(self.schema).inc()
                    log.warning(
                        "relay %s: %s: %s; retrying in %.1fs", self.schema, type(exc).__name__, exc, backoff
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if published < self.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_s)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        """Keep a LISTEN connection open, reconnecting after a database restart."""
        channel = f"{self.schema}_outbox"
        while True:
            stop_if_cancelled()
            try:
                conn = await asyncpg.connect(self.database_url)
                try:
                    closed = asyncio.Event()
                    conn.add_termination_listener(lambda _conn, ev=closed: ev.set())
                    await conn.add_listener(channel, lambda *_: self._wake.set())
                    self._wake.set()  # rows may have arrived while we were not listening
                    await closed.wait()
                finally:
                    await conn.close(timeout=1)
            except CONNECTION_ERRORS as exc:
                log.info("relay %s listener: %s; reconnecting", self.schema, exc)
                await asyncio.sleep(1.0)
