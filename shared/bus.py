"""The event bus on RabbitMQ: one durable topic exchange, confirmed persistent publishing,
and the queue topology of each consumer (main queue, delay queues, dead-letter queue).

Every publish is mandatory and every channel raises on a returned message, so a message the
broker could not route is an error, never a silent success. The events exchange has an
alternate exchange: an event no queue is bound for waits in the ``civic.unrouted`` queue.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue, AbstractRobustConnection

from shared.settings import Settings

log = logging.getLogger(__name__)

EXCHANGE = "civic.events"
UNROUTED = "civic.unrouted"

# Errors that mean "the broker is unreachable or the channel went away": retry later.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    aiormq.exceptions.AMQPError,
    ConnectionError,
    # aio-pika's "connection closed" while a robust connection reconnects, and aiormq's
    # ChannelInvalidStateError (a RuntimeError) for a channel closed meanwhile.
    RuntimeError,
    TimeoutError,
)


@dataclass(frozen=True)
class QueueNames:
    """The queues one consumer owns. Retries and parking go through the default exchange
    straight to these queues, so a retried event never reaches the other consumers again."""

    main: str
    delays_ms: tuple[int, ...]

    @property
    def dlq(self) -> str:
        return f"{self.main}.dlq"

    def delay(self, attempt: int) -> str:
        # Named by the delay, not the attempt: changing the delays makes new queues instead of a
        # redeclaration the broker refuses. Old delay queues still expire into the main queue.
        return f"{self.main}.delay.{self.delays_ms[attempt]}ms"


class Bus:
    def __init__(self, settings: Settings, *, name: str = "civic") -> None:
        self.settings = settings
        self.name = name
        self.prefix = settings.bus_prefix
        self.exchange_name = self.prefix + EXCHANGE
        self.connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    @property
    def unrouted_queue(self) -> str:
        return self.prefix + UNROUTED

    async def connect(self) -> None:
        self.connection = await aio_pika.connect_robust(
            self.settings.rabbitmq_url, client_properties={"connection_name": self.name}
        )
        await self.declare_exchanges()
        self._channel = await self.channel()
        self._exchange = await self._channel.get_exchange(self.exchange_name)

    async def declare_exchanges(self) -> None:
        """The events exchange and, as its alternate, a fanout exchange into the unrouted queue."""
        unrouted = self.prefix + UNROUTED

        async def declare(channel: AbstractChannel) -> None:
            alternate = await channel.declare_exchange(unrouted, aio_pika.ExchangeType.FANOUT, durable=True)
            queue = await channel.declare_queue(unrouted, durable=True, arguments={"x-queue-type": "quorum"})
            await queue.bind(alternate)
            await channel.declare_exchange(
                self.exchange_name,
                aio_pika.ExchangeType.TOPIC,
                durable=True,
                arguments={"alternate-exchange": unrouted},
            )

        await self._declare_or_keep(self.exchange_name, declare)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    @property
    def is_connected(self) -> bool:
        return self.connection is not None and not self.connection.is_closed

    async def channel(self, prefetch: int | None = None) -> AbstractChannel:
        assert self.connection is not None, "connect() first"
        channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        if prefetch:
            await channel.set_qos(prefetch_count=prefetch)
        return channel

    async def _declare_or_keep(
        self, what: str, declare: Callable[[AbstractChannel], Awaitable[None]]
    ) -> None:
        """Declare on a channel of its own. If the broker already holds the object with other
        arguments (a setting changed since), it refuses and closes the channel: keep what is
        there and say so, rather than crash-looping every consumer over it."""
        channel = await self.channel()
        try:
            await declare(channel)
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            log.error(
                "%s exists on the broker with other arguments; keeping it as it is (%s). "
                "To apply the new ones, drain and delete it, then declare again.",
                what,
                exc,
            )
        finally:
            if not channel.is_closed:
                await channel.close()

    def queue_names(self, queue: str) -> QueueNames:
        return QueueNames(self.prefix + queue, tuple(self.settings.retry_delays_ms))

    async def declare_consumer_queues(
        self, queue: str, routing_keys: Iterable[str], *, unbind: Iterable[str] = ()
    ) -> None:
        """Declare a consumer's queues and bind its routing keys; unbind the keys in ``unbind``
        (keys it handled once and no longer does)."""
        names = self.queue_names(queue)
        # Dead-lettering that waits for the DLQ's confirm: at-most-once would drop a message
        # the broker parks (delivery limit) if the DLQ could not take it at that moment.
        at_least_once = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}

        async def declare_main(channel: AbstractChannel) -> None:
            await channel.declare_queue(
                names.main,
                durable=True,
                arguments={
                    **QUORUM,
                    # A message that keeps killing its consumer is parked by the broker itself.
                    "x-delivery-limit": self.settings.delivery_limit,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": names.dlq,
                    **at_least_once,
                },
            )

        await self._declare_or_keep(names.main, declare_main)
        for attempt, delay_ms in enumerate(names.delays_ms):

            async def declare_delay(
                channel: AbstractChannel, attempt: int = attempt, ttl: int = delay_ms
            ) -> None:
                # One queue per delay: TTL only expires at a queue's head.
                await channel.declare_queue(
                    names.delay(attempt),
                    durable=True,
                    arguments={
                        **QUORUM,
                        "x-message-ttl": ttl,
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": names.main,
                        **at_least_once,
                    },
                )

            await self._declare_or_keep(names.delay(attempt), declare_delay)

        async def declare_dlq_and_bindings(channel: AbstractChannel) -> None:
            await channel.declare_queue(names.dlq, durable=True, arguments=QUORUM)
            main = await channel.get_queue(names.main)
            exchange = await channel.get_exchange(self.exchange_name)
            for key in routing_keys:
                await main.bind(exchange, routing_key=key)
            for key in set(unbind) - set(routing_keys):
                await main.unbind(exchange, routing_key=key)
                log.info("%s: unbound %s, which it no longer handles", names.main, key)

        await self._declare_or_keep(names.dlq, declare_dlq_and_bindings)

    async def consume_from(self, channel: AbstractChannel, queue: str) -> AbstractQueue:
        """The consumer's main queue, already declared, on its own channel. A robust channel
        re-subscribes after a reconnect only the queues it declared itself, hence passive here."""
        return await channel.declare_queue(self.queue_names(queue).main, passive=True)

    async def publish(
        self, routing_key: str, body: bytes, *, message_id: str, headers: dict[str, Any] | None = None
    ) -> None:
        """Publish to the events exchange and wait for the broker's confirm."""
        assert self._exchange is not None, "connect() first"
        await self._exchange.publish(
            _message(body, message_id, routing_key, headers), routing_key=routing_key
        )

    async def publish_many(self, items: Iterable[tuple[str, bytes, str]]) -> None:
        """Publish (routing_key, body, message_id) items; returns once every one is confirmed.
        Bounded in time: a connection lost mid-publish must fail the batch, not hang the relay."""
        async with asyncio.timeout(self.settings.publish_timeout_s):
            await asyncio.gather(*(self.publish(key, body, message_id=mid) for key, body, mid in items))

    async def send_to_queue(
        self, queue: str, body: bytes, *, message_id: str, event_type: str, headers: dict[str, Any]
    ) -> None:
        """Put a message on one named queue (a delay queue or a DLQ), confirmed."""
        assert self._channel is not None, "connect() first"
        await self._channel.default_exchange.publish(
            _message(body, message_id, event_type, headers), routing_key=queue
        )


QUORUM: dict[str, Any] = {"x-queue-type": "quorum"}


def _message(
    body: bytes, message_id: str, event_type: str, headers: dict[str, Any] | None
) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        content_type="application/json",
        message_id=message_id,
        type=event_type,
        headers=headers or {},
    )
