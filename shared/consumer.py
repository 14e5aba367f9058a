"""Consuming events: validate on receipt, apply each effect once (inbox), retry with growing
delay, park what cannot be handled in the queue's DLQ with its error.

Messages are handled in batches, one transaction per batch, so a burst costs one commit instead
of one per event. When a batch fails, its other messages are applied one by one, so a failing
message fails alone.

Nothing a message holds can end the consumer: whatever cannot be parsed is parked at once, and
an unexpected error while handling a batch puts its messages back on the queue, where the
broker's delivery limit parks a message that keeps failing.
"""

import asyncio
import collections
import hashlib
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import Counter

from shared.bus import BROKER_ERRORS, Bus, QueueNames
from shared.cancellation import stop_if_cancelled
from shared.contracts import Envelope, Event, InvalidMessage, parse_message
from shared.crashpoints import crash_point
from shared.db import DbConnection
from shared.settings import Settings
from shared.topology import declare_consumer

log = logging.getLogger(__name__)

Handler = Callable[[Any, DbConnection, Envelope], Awaitable[None]]
Applies = Callable[[DbConnection, Sequence[tuple[Any, Envelope]]], Awaitable[None]]

CONSUMED = Counter(
    "civic_events_consumed_total", "Events taken off a queue, by outcome", ["consumer", "outcome"]
)
_BROKER_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-delivery-count",
)


@dataclass(frozen=True)
class BatchHandler:
    """A handler that applies a run of events of its type at once, set-based: one statement for
    the run instead of one per event, which was most of a consumer's and of PostgreSQL's time.
    Its effect must be that of the events applied one by one in their order, or it must raise:
    the consumer then applies them one at a time, so a failing event fails alone. Called as a
    plain handler, it applies one event."""

    apply: Applies

    async def __call__(self, event: Any, conn: DbConnection, envelope: Envelope) -> None:
        await self.apply(conn, [(event, envelope)])


@dataclass(frozen=True)
class Subscription:
    """A consumer: its queue (``<service>.<purpose>``, also its inbox key) and its handlers,
    each a plain handler or a BatchHandler."""

    consumer: str
    handlers: Mapping[type[Event], Handler]

    @property
    def routing_keys(self) -> list[str]:
        return sorted({contract.type for contract in self.handlers})

    def handler_for(self, event: Event) -> Handler:
        return self.handlers[type(event)]


@dataclass
class _Delivery:
    message: AbstractIncomingMessage
    envelope: Envelope | None = None
    event: Event | None = None
    error: BaseException | None = None
    permanent: bool = False
    outcome: str = "pending"
    traceback: str = field(default="", repr=False)

    @property
    def attempt(self) -> int:
        """Retries so far. A header that is not a small integer counts as none (it was not ours)."""
        try:
            return max(0, min(int(str((self.message.headers or {}).get("x-attempt", 0))), 1000))
        except ValueError:
            return 0

    @property
    def key(self) -> str:
        """What identifies the message across redeliveries, parsed or not."""
        if self.envelope is not None:
            return str(self.envelope.id)
        return self.message.message_id or hashlib.sha256(self.message.body).hexdigest()


class _HandlerFailed(Exception):
    """A handler raised: its batch's transaction is rolled back. ``delivery`` is the message at
    fault, or None when a BatchHandler failed on a run of several (any of them may be)."""

    def __init__(self, delivery: _Delivery | None, traceback: str) -> None:
        super().__init__()
        self.delivery = delivery
        self.traceback = traceback


class TransactionAborted(Exception):
    """A handler caught a database error and carried on: PostgreSQL then answers COMMIT with
    ROLLBACK, silently, so the batch is treated as failed instead."""


def _open_channel(message: AbstractIncomingMessage) -> Any | None:
    """The channel a message came on, or None once it closed (a broker restart): aio-pika then
    raises on ``message.channel``, and such a message comes back by itself, unacknowledged."""
    try:
        channel = message.channel
    except BROKER_ERRORS:
        return None
    return None if channel.is_closed else channel


class Consumer:
    def __init__(self, bus: Bus, pool: asyncpg.Pool, subscription: Subscription, settings: Settings) -> None:
        self.bus = bus
        self.pool = pool
        self.subscription = subscription
        self.prefetch = settings.consumer_prefetch
        self.batch_size = settings.consumer_batch
        self.names: QueueNames = bus.queue_names(subscription.consumer)
        self._incoming: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

    async def run(self) -> None:
        await declare_consumer(
            self.bus, self.subscription.consumer, self.subscription.routing_keys, self.pool
        )
        channel = await self.bus.channel(prefetch=self.prefetch)
        queue = await self.bus.consume_from(channel, self.subscription.consumer)
        await queue.consume(self._incoming.put)
        try:
            while True:
                stop_if_cancelled()
                batch = await self._next_batch()
                try:
                    await self.handle_batch(batch)
                except Exception:
                    # A fault of ours, not of one message: put the batch back. A message that
                    # keeps causing it reaches the broker's delivery limit and is parked.
                    log.exception("%s: could not handle a batch; requeueing it", self.subscription.consumer)
                    await self._requeue([_Delivery(m) for m in batch])
        finally:
            if not channel.is_closed:
                await channel.close()

    async def _next_batch(self) -> list[AbstractIncomingMessage]:
        batch = [await self._incoming.get()]
        while len(batch) < self.batch_size and not self._incoming.empty():
            batch.append(self._incoming.get_nowait())
        return batch

    async def handle_batch(self, messages: list[AbstractIncomingMessage]) -> None:
        deliveries = [self._parse(m) for m in messages]
        await self._skip_already_forwarded(deliveries)
        pending = [d for d in deliveries if d.outcome == "pending" and not d.permanent]
        if pending:
            await self._apply_until_committed(pending)
        crash_point("consumer.after_commit_before_ack")
        await self._settle(deliveries)

    def _parse(self, message: AbstractIncomingMessage) -> _Delivery:
        delivery = _Delivery(message)
        try:
            delivery.envelope, delivery.event = parse_message(message.body)
            if type(delivery.event) not in self.subscription.handlers:
                raise InvalidMessage(
                    f"{self.subscription.consumer} has no handler for {delivery.envelope.type}"
                )
        except InvalidMessage as exc:
            delivery.error, delivery.permanent = exc, True
        return delivery

    async def _skip_already_forwarded(self, deliveries: list[_Delivery]) -> None:
        """A redelivered message whose retry or parking was already sent (its ack was lost) is
        only acknowledged: the copy sent on carries on."""
        redelivered = [d for d in deliveries if d.message.redelivered]
        if not redelivered:
            return
        rows = await self.pool.fetch(
            """SELECT message_key, attempt FROM consumer_forwards
               WHERE consumer = $1 AND message_key = ANY($2::text[])""",
            self.subscription.consumer,
            [d.key for d in redelivered],
        )
        forwarded = {(r["message_key"], r["attempt"]) for r in rows}
        for d in redelivered:
            if (d.key, d.attempt) in forwarded:
                d.outcome, d.error = "duplicate", None

    async def _apply_until_committed(self, deliveries: list[_Delivery]) -> None:
        """Apply the batch in one transaction. If it fails while the database is unreachable,
        the messages stay unacknowledged here and the batch is tried again: nothing is
        requeued, so an outage never counts against a message's delivery limit. Whether the
        database is down is asked of the database, not guessed from the exception's class: a
        handler's own OSError (a missing file, an SMTP error) is a failure like any other."""
        backoff = 0.1
        while True:
            stop_if_cancelled()
            try:
                await self._apply_at_once(deliveries)
                return
            except Exception as exc:
                if not await self._database_reachable():
                    log.warning(
                        "%s: database unavailable (%s: %s); retrying batch in %.1fs",
                        self.subscription.consumer,
                        type(exc).__name__,
                        exc,
                        backoff,
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                self._blame(deliveries, exc)
            # The whole batch rolled back. The others are applied one by one, so only the
            # message at fault fails, and a failing handler still runs once per delivery.
            for delivery in deliveries:
                if delivery.outcome == "pending":
                    await self._apply_until_committed([delivery])
            return

    def _blame(self, deliveries: list[_Delivery], exc: Exception) -> None:
        """Mark the message at fault as failed, if it is known. A handler that met a transaction
        already aborted by an earlier one is not at fault."""
        if (
            isinstance(exc, _HandlerFailed)
            and exc.delivery is not None
            and not isinstance(exc.__cause__, asyncpg.InFailedSQLTransactionError)
        ):
            culprit, error, trace = exc.delivery, exc.__cause__, exc.traceback
        elif len(deliveries) == 1:
            culprit, error = deliveries[0], exc.__cause__ if isinstance(exc, _HandlerFailed) else exc
            trace = exc.traceback if isinstance(exc, _HandlerFailed) else traceback.format_exc(limit=5)
            if isinstance(error, asyncpg.InFailedSQLTransactionError):
                error = TransactionAborted(
                    "the handler caught a database error and carried on; its transaction was aborted"
                )
        else:
            return
        culprit.outcome, culprit.error, culprit.traceback = "failed", error, trace

    async def _database_reachable(self) -> bool:
        try:
            async with asyncio.timeout(5):
                await self.pool.fetchval("SELECT 1")
        except Exception:
            return False
        return True

    async def _apply_at_once(self, deliveries: list[_Delivery]) -> None:
        """The inbox rows of the whole batch in one statement, then the handlers of the events
        seen for the first time, in their order: each run of consecutive events for the same
        BatchHandler in one call."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """INSERT INTO inbox (consumer, event_id, event_type)
                   SELECT $1, * FROM unnest($2::uuid[], $3::text[])
                   ON CONFLICT DO NOTHING RETURNING event_id""",
                self.subscription.consumer,
                [d.envelope.id for d in deliveries if d.envelope is not None],
                [d.envelope.type for d in deliveries if d.envelope is not None],
            )
            # An id twice in one batch (a relay re-published it) is inserted once: its first
            # delivery is handled and the second is a duplicate, as with one INSERT per message.
            fresh = {r["event_id"] for r in rows}
            handled = []
            for d in deliveries:
                assert d.envelope is not None
                if d.envelope.id not in fresh:
                    d.outcome, d.error = "duplicate", None
                    continue
                fresh.discard(d.envelope.id)
                handled.append(d)
            for run in self._runs(handled):
                try:
                    await self._handle(conn, run)
                except Exception as exc:
                    culprit = run[0] if len(run) == 1 else None
                    raise _HandlerFailed(culprit, traceback.format_exc(limit=5)) from exc
            # Raises if a handler swallowed an error: the COMMIT would silently roll back.
            await conn.execute("SELECT 1")
        for d in handled:
            d.outcome, d.error = "handled", None

    def _runs(self, deliveries: list[_Delivery]) -> list[list[_Delivery]]:
        """The deliveries in order, consecutive ones for the same BatchHandler together."""
        runs: list[list[_Delivery]] = []
        last: Handler | None = None
        for d in deliveries:
            assert d.event is not None
            handler = self.subscription.handler_for(d.event)
            if runs and handler is last and isinstance(handler, BatchHandler):
                runs[-1].append(d)
            else:
                runs.append([d])
            last = handler
        return runs

    async def _handle(self, conn: DbConnection, run: list[_Delivery]) -> None:
        events = [(d.event, d.envelope) for d in run if d.event is not None and d.envelope is not None]
        handler = self.subscription.handler_for(events[0][0])
        if isinstance(handler, BatchHandler):
            await handler.apply(conn, events)
            return
        [(event, envelope)] = events
        await handler(event, conn, envelope)

    async def _settle(self, deliveries: list[_Delivery]) -> None:
        """After the commit: retry or park failures, then acknowledge. If the broker went away
        meanwhile the ack is lost and the message comes back; its inbox row makes that harmless.

        A failed message whose retry or parking could not be sent goes back to the queue at
        once (not held unacknowledged until the broker's consumer timeout); each such return
        counts toward the delivery limit, so it ends in the DLQ, never in a loop.

        One ack per message was a fifth of a consumer's CPU (a frame and a socket write each),
        so what settles on one channel is acknowledged by one ``multiple`` ack."""
        unsent = [d for d in deliveries if not await self._forward_if_failed(d)]
        if unsent:
            await asyncio.sleep(1.0)  # the broker refused a copy just now: don't spin on it
            await self._requeue(unsent)
        done = [d for d in deliveries if d not in unsent]
        if not done:
            return
        channel = _open_channel(done[-1].message)
        if channel is not None and all(_open_channel(d.message) is channel for d in done):
            await self._ack(done, multiple=True)
            return
        for d in done:
            await self._ack([d])

    async def _ack(self, deliveries: list[_Delivery], *, multiple: bool = False) -> None:
        """Acknowledge the last delivery (with ``multiple``, every earlier one on its channel too)."""
        try:
            await deliveries[-1].message.ack(multiple=multiple)
        except BROKER_ERRORS as exc:
            self._log_unsettled(deliveries, exc)
            return
        for outcome, count in collections.Counter(d.outcome for d in deliveries).items():
            CONSUMED.labels(self.subscription.consumer, outcome).inc(count)

    async def _requeue(self, deliveries: list[_Delivery]) -> None:
        for d in deliveries:
            try:
                await d.message.nack(requeue=True)
            except BROKER_ERRORS as exc:
                self._log_unsettled([d], exc)
            else:
                CONSUMED.labels(self.subscription.consumer, "requeued").inc()

    async def _forward_if_failed(self, d: _Delivery) -> bool:
        """Send a failed message on to its retry or to the DLQ. False if that could not be done."""
        if d.error is None:
            return True
        try:
            await self._retry_or_park(d)
        except BROKER_ERRORS as exc:
            self._log_unsettled([d], exc)
            return False
        try:
            await self.pool.execute(
                """INSERT INTO consumer_forwards (consumer, message_key, attempt) VALUES ($1, $2, $3)
                   ON CONFLICT DO NOTHING""",
                self.subscription.consumer,
                d.key,
                d.attempt,
            )
        except Exception as exc:
            # Only a lost ack as well would then start a second retry chain: the effects are
            # still applied once (inbox), so this is logged, not fatal.
            log.warning("%s: could not record forwarding %s: %s", self.subscription.consumer, d.key, exc)
        return True

    def _log_unsettled(self, deliveries: list[_Delivery], exc: BaseException) -> None:
        for d in deliveries:
            log.warning(
                "%s: could not settle %s (%s); it will be redelivered",
                self.subscription.consumer,
                d.message.message_id,
                exc,
            )

    async def _retry_or_park(self, d: _Delivery) -> None:
        headers = {k: v for k, v in (d.message.headers or {}).items() if k not in _BROKER_HEADERS}
        attempt = d.attempt
        error = f"{type(d.error).__name__}: {d.error}"[:2000]
        message_id = d.message.message_id or ""
        event_type = d.message.type or ""
        if not d.permanent and attempt < len(self.names.delays_ms):
            headers.update({"x-attempt": attempt + 1, "x-last-error": error})
            await self.bus.send_to_queue(
                self.names.delay(attempt),
                d.message.body,
                message_id=message_id,
                event_type=event_type,
                headers=headers,
            )
            d.outcome = "retried"
            log.info(
                "%s: %s failed (%s); retry %d in %d ms",
                self.subscription.consumer,
                message_id,
                error,
                attempt + 1,
                self.names.delays_ms[attempt],
            )
            return
        headers.update(
            {
                "x-error": error,
                "x-error-traceback": d.traceback[-4000:],
                "x-attempts": attempt + (0 if d.permanent else 1),
                "x-consumer": self.subscription.consumer,
                "x-original-routing-key": d.message.routing_key or "",
                "x-parked-at": datetime.now(UTC).isoformat(),
            }
        )
        await self.bus.send_to_queue(
            self.names.dlq, d.message.body, message_id=message_id, event_type=event_type, headers=headers
        )
        d.outcome = "parked"
        log.error("%s: parked %s in %s: %s", self.subscription.consumer, message_id, self.names.dlq, error)
