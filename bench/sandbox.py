"""A database and a bus prefix of the bench's own, removed afterwards, so a bench never
disturbs `make run` or a test run sharing this PostgreSQL and RabbitMQ."""

import contextlib
import os
import secrets
from collections.abc import AsyncIterator

import aio_pika
import asyncpg

from deploy.stack import SERVICES, prepare
from shared.bus import Bus
from shared.db import drop_database
from shared.settings import Settings, get_settings

# Small pools: max_connections is 100 and the tests or `make run` may be using the server too.
SERVICE_POOL_SIZE = 2


class Sandbox:
    def __init__(self, base: Settings) -> None:
        token = secrets.token_hex(4)
        self.database = f"civic_bench_{token}"
        self.settings = base.with_database(self.database).model_copy(
            update={
                "bus_prefix": f"bench{token}.",
                "pool_min_size": 1,
                "pool_max_size": SERVICE_POOL_SIZE,
            }
        )
        # The bus floor's exchange and queues (bench.drain), beside the services' under the same prefix.
        self.floor_exchange = f"{self.settings.bus_prefix}floor"
        self.floor_queues = [f"{self.floor_exchange}.{kind}" for kind in ("surveys", "notifications")]

    def child_env(self) -> dict[str, str]:
        """The environment of every subprocess: the sandbox's settings over the caller's."""
        s = self.settings
        return {
            **os.environ,
            "CIVIC_DATABASE_URL": s.database_url,
            "CIVIC_MIGRATION_DATABASE_URL": s.migration_database_url,
            # The bench is one client sending everything: the per-client limit would refuse it.
            "CIVIC_REGISTRATIONS_PER_CLIENT": "0",
            "CIVIC_BUS_PREFIX": s.bus_prefix,
            "CIVIC_POOL_MIN_SIZE": str(s.pool_min_size),
            "CIVIC_POOL_MAX_SIZE": str(s.pool_max_size),
            "CIVIC_LOG_LEVEL": "WARNING",
        }

    def queue_names(self) -> list[str]:
        bus = Bus(self.settings)
        names = [*self.floor_queues, bus.unrouted_queue]
        for spec in SERVICES:
            for sub in spec.subscriptions:
                q = bus.queue_names(sub.consumer)
                names += [q.main, q.dlq, *(q.delay(i) for i in range(len(q.delays_ms)))]
        return names

    async def connect(self, *, owner: bool = False) -> asyncpg.Connection:
        """As the serving role, or as the owner of the tables (to create the floors' own)."""
        s = self.settings
        return await asyncpg.connect(s.migration_database_url if owner else s.database_url)

    async def server_versions(self) -> tuple[str, str]:
        """PostgreSQL's and RabbitMQ's versions, as the servers themselves report them."""
        conn = await self.connect()
        try:
            postgres = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
        connection = await aio_pika.connect(self.settings.rabbitmq_url)
        try:
            assert connection.transport is not None
            rabbitmq = connection.transport.connection.server_properties.get("version", "?")
        finally:
            await connection.close()
        return str(postgres), rabbitmq.decode() if isinstance(rabbitmq, bytes) else str(rabbitmq)

    async def remove_bus_objects(self) -> None:
        connection = await aio_pika.connect(self.settings.rabbitmq_url)
        try:
            channel = await connection.channel()
            for name in self.queue_names():
                await channel.queue_delete(name)
            bus = Bus(self.settings)
            for exchange in (bus.exchange_name, bus.unrouted_queue, self.floor_exchange):
                await channel.exchange_delete(exchange)
        finally:
            await connection.close()


@contextlib.asynccontextmanager
async def sandbox() -> AsyncIterator[Sandbox]:
    """Create the database, its schemas and the queues; remove all of it on the way out,
    also after an error or Ctrl-C."""
    box = Sandbox(get_settings())
    try:
        await prepare(box.settings, demo_data=False)
        yield box
    finally:
        try:
            await box.remove_bus_objects()
        finally:
            await drop_database(box.settings.migration_database_url)
