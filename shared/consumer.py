"""Consuming events: validate on receipt, apply each effect once (inbox), retry with growing
delay, park what cannot be handled in the queue's DLQ with its error.

Messages are handled in batches, one transaction per batch, so a burst costs one commit instead
of one per event. When a batch fails, its other messages are applied one by one, so a failing
message fails alone.
"""

import asyncio
import logging
import traceback
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import Counter

from shared.bus import BROKER_ERRORS, Bus, QueueNames
from shared.contracts import Envelope, Event, InvalidMessage, parse_message
from shared.db import CONNECTION_ERRORS, DbConnection
from shared.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[Any, DbConnection, Envelope], Awaitable[None]]

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
class Subscription:
    """A consumer: its queue (``<service>.<purpose>``, also its inbox key) and its handlers."""

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


class _HandlerFailed(Exception):
    """A handler raised: its batch's transaction is rolled back."""

    def __init__(self, delivery: _Delivery, traceback: str) -> None:
        super().__init__()
        self.delivery = delivery
        self.traceback = traceback


def _open_channel(message: AbstractIncomingMessage) -> Any | None:
    """The channel a message came on, or None once it closed (a broker restart): aio-pika then
    raises on ``message.channel``, and such a message comes back by itself, unacknowledged."""
    try:
        return message.channel
    except BROKER_ERRORS:
        return None


class Consumer:
    def __init__(self, bus: Bus, pool: asyncpg.Pool, subscription: Subscription, settings: Settings) -> None:
        self.bus = bus
        self.pool = pool
        self.subscription = subscription
        self.prefetch = settings.consumer_prefetch
        self.batch_size = settings.consumer_batch
        self.names: QueueNames = bus.queue_names(subscription.consumer)
        self._incoming: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        # Channels on which this consumer left a message unacknowledged (see _settle).
        self._holding_unacked: weakref.WeakSet[Any] = weakref.WeakSet()

    async def run(self) -> None:
        channel = await self.bus.channel(prefetch=self.prefetch)
        queue = await self.bus.declare_consumer_queues(
            channel, self.subscription.consumer, self.subscription.routing_keys
        )
        await queue.consume(self._incoming.put)
        try:
            while True:
                await self.handle_batch(await self._next_batch())
        finally:
            await channel.close()

    async def _next_batch(self) -> list[AbstractIncomingMessage]:
        batch = [await self._incoming.get()]
        while len(batch) < self.batch_size and not self._incoming.empty():
            batch.append(self._incoming.get_nowait())
        return batch

    async def handle_batch(self, messages: list[AbstractIncomingMessage]) -> None:
        deliveries = [self._parse(m) for m in messages]
        valid = [d for d in deliveries if not d.permanent]
        if valid:
            await self._apply_until_committed(valid)
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

    async def _apply_until_committed(self, deliveries: list[_Delivery]) -> None:
        """Apply the batch in one transaction. While the database is unreachable the messages
        stay unacknowledged here and the batch is tried again: nothing is requeued, so an
        outage never counts against a message's delivery limit."""
        backoff = 0.1
        while True:
            try:
                await self._apply_at_once(deliveries)
                return
            except CONNECTION_ERRORS as exc:
                log.warning(
                    "%s: database unavailable (%s); retrying batch in %.1fs",
                    self.subscription.consumer,
                    exc,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as exc:
                # A handler raised or the commit failed (a deferred constraint, say), and the
                # whole batch rolled back. The others are applied one by one, so only the message
                # at fault fails, and a failing handler still runs once per delivery.
                if isinstance(exc, _HandlerFailed):
                    culprit, error, trace = exc.delivery, exc.__cause__, exc.traceback
                elif len(deliveries) == 1:
                    culprit, error, trace = deliveries[0], exc, traceback.format_exc(limit=5)
                else:
                    culprit, error, trace = None, None, ""
                if culprit is not None:
                    culprit.outcome, culprit.error, culprit.traceback = "failed", error, trace
                for delivery in deliveries:
                    if delivery is not culprit:
                        await self._apply_until_committed([delivery])
                return

    async def _apply_at_once(self, deliveries: list[_Delivery]) -> None:
        """The inbox rows of the whole batch in one statement, then the handlers of the events
        seen for the first time."""
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
            for d in deliveries:
                assert d.envelope is not None and d.event is not None
                if d.envelope.id not in fresh:
                    d.outcome, d.error = "duplicate", None
                    continue
                fresh.discard(d.envelope.id)
                try:
                    await self.subscription.handler_for(d.event)(d.event, conn, d.envelope)
                except CONNECTION_ERRORS:
                    raise
                except Exception as exc:
                    raise _HandlerFailed(d, traceback.format_exc(limit=5)) from exc
                d.outcome, d.error = "handled", None

    async def _settle(self, deliveries: list[_Delivery]) -> None:
        """After the commit: retry or park failures, then acknowledge. If the broker went away
        meanwhile the ack is lost and the message comes back; its inbox row makes that harmless.

        One ack per message was a fifth of a consumer's CPU (a frame and a socket write each),
        so a batch that settles whole on one channel is acknowledged by one ``multiple`` ack.
        That would also acknowledge an older message left unacknowledged on the channel because
        its retry could not be sent, so a channel holding one gets single acks from then on."""
        forwarded = [await self._forward_if_failed(d) for d in deliveries]
        channel = _open_channel(deliveries[-1].message)
        if (
            channel is not None
            and all(forwarded)
            and channel not in self._holding_unacked
            and all(_open_channel(d.message) is channel for d in deliveries)
        ):
            await self._ack(deliveries, multiple=True)
            return
        for d, ok in zip(deliveries, forwarded, strict=True):
            if ok:
                await self._ack([d])
            elif (held_on := _open_channel(d.message)) is not None:
                self._holding_unacked.add(held_on)

    async def _ack(self, deliveries: list[_Delivery], *, multiple: bool = False) -> None:
        """Acknowledge the last delivery (with ``multiple``, every earlier one on its channel too)."""
        try:
            await deliveries[-1].message.ack(multiple=multiple)
        except BROKER_ERRORS as exc:
            self._log_unsettled(deliveries, exc)
            return
        for d in deliveries:
            CONSUMED.labels(self.subscription.consumer, d.outcome).inc()

    async def _forward_if_failed(self, d: _Delivery) -> bool:
        """Send a failed message on to its retry or to the DLQ. False if that could not be done:
        the message then stays unacknowledged, to come back."""
        if d.error is None:
            return True
        try:
            await self._retry_or_park(d)
        except BROKER_ERRORS as exc:
            self._log_unsettled([d], exc)
            return False
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
        attempt = int(str(headers.get("x-attempt", 0)))
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
