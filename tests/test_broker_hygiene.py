"""The suite leaves the broker as it found it: every queue a test declares is deleted when the
test ends (tests/conftest.py). Left behind, some 300 quorum queues exhaust a stock RabbitMQ's
file handles and it stops answering new connections, so every later test hangs."""

import aio_pika
import aiormq
import pytest

from services.surveys.app import SPEC as SURVEYS
from shared.bus import Bus
from shared.runtime import declare_topology
from shared.settings import Settings

_left_by_the_first_test: list[str] = []


async def test_a_test_declares_its_queues(bus: Bus) -> None:
    subscription = SURVEYS.subscriptions[0]
    await declare_topology(bus, [subscription])
    names = bus.queue_names(subscription.consumer)
    _left_by_the_first_test.extend([bus.unrouted_queue, names.main, names.dlq, names.delay(0)])
    channel = await bus.channel()
    for name in _left_by_the_first_test:
        await channel.declare_queue(name, passive=True)  # they exist while it runs


async def test_the_queues_of_the_test_before_are_gone(settings: Settings) -> None:
    assert _left_by_the_first_test, "runs after the test above"
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        for name in _left_by_the_first_test:
            channel = await connection.channel()
            with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
                await channel.declare_queue(name, passive=True)
