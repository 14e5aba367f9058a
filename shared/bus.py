"""The event bus on RabbitMQ: one durable topic exchange, confirmed persistent publishing,
and the queue topology of each consumer (main queue, delay queues, dead-letter queue)."""

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue, AbstractRobustConnection

from shared.settings import Settings

EXCHANGE = "civic.events"

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
        return f"{self.main}.retry.{attempt}"


class Bus:
    def __init__(self, settings: Settings, *, name: str = "civic") -> None:
        self.settings = settings
        self.name = name
        self.prefix = settings.bus_prefix
        self.exchange_name = self.prefix + EXCHANGE
        self.connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def connect(self) -> None:
        self.connection = await aio_pika.connect_robust(
            self.settings.rabbitmq_url, client_properties={"connection_name": self.name}
        )
        self._channel = await self.connection.channel(publisher_confirms=True)
        self._exchange = await self._channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()

    @property
    def is_connected(self) -> bool:
        return self.connection is not None and not self.connection.is_closed

    async def channel(self, prefetch: int | None = None) -> AbstractChannel:
        assert self.connection is not None, "connect() first"
        channel = await self.connection.channel(publisher_confirms=True)
        if prefetch:
            await channel.set_qos(prefetch_count=prefetch)
        return channel

    def queue_names(self, queue: str) -> QueueNames:
        return QueueNames(self.prefix + queue, tuple(self.settings.retry_delays_ms))

    async def declare_consumer_queues(
        self, channel: AbstractChannel, queue: str, routing_keys: Iterable[str]
    ) -> AbstractQueue:
        """Declare a consumer's queues; returns its main queue. Consume from that object: a
        robust channel re-declares and re-subscribes only the queues it declared itself."""
        names = self.queue_names(queue)
        quorum: dict[str, Any] = {"x-queue-type": "quorum"}
        main = await channel.declare_queue(
            names.main,
            durable=True,
            arguments={
                **quorum,
                # A message that keeps killing its consumer is parked by the broker itself.
                "x-delivery-limit": self.settings.delivery_limit,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": names.dlq,
            },
        )
        for attempt, delay_ms in enumerate(names.delays_ms):
            # One queue per delay: TTL only expires at a queue's head.
            await channel.declare_queue(
                names.delay(attempt),
                durable=True,
                arguments={
                    **quorum,
                    "x-message-ttl": delay_ms,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": names.main,
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )
        await channel.declare_queue(names.dlq, durable=True, arguments=quorum)
        exchange = await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        for key in routing_keys:
            await main.bind(exchange, routing_key=key)
        return main

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
