"""The suite leaves the broker as it found it: every queue a test declares is deleted when the
test ends (tests/conftest.py). Left behind, some 300 quorum queues exhaust a stock RabbitMQ's
file handles and it stops answering new connections, so every later test hangs."""

from pathlib import Path

import aio_pika
import aiormq
import asyncpg
import pytest

from deploy.stack import SERVICES
from services.surveys.app import SPEC as SURVEYS
from shared.bus import Bus
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.launcher import LAUNCHED, serving

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


_platform: list[Settings] = []


async def test_a_platform_started_by_a_test_declares_its_queues(
    run_settings: Settings, tmp_path: Path
) -> None:
    """`make run` in a subprocess declares every consumer's queues itself (some 70 now), where
    the recording of declarations above cannot see them."""

    async def nothing(conn: asyncpg.Connection) -> None:
        return None

    async with serving(run_settings, tmp_path, nothing):
        settings, _ = LAUNCHED[-1]
        _platform.append(settings)
        bus = Bus(settings)
        await bus.connect()
        try:
            channel = await bus.channel()
            await channel.declare_queue(bus.queue_names(SURVEYS.subscriptions[0].consumer).main, passive=True)
        finally:
            await bus.close()


async def test_the_queues_of_the_platform_before_are_gone(settings: Settings) -> None:
    [platform] = _platform
    bus = Bus(platform)
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        for spec in SERVICES:
            for subscription in spec.subscriptions:
                channel = await connection.channel()
                with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity):
                    await channel.declare_queue(bus.queue_names(subscription.consumer).main, passive=True)
