"""Removing what the bus holds about one aggregate (a person being erased): its outbox rows and
its parked or unrouted messages. Each service erases its own tables; this is the plumbing's part.

Messages are matched by the envelope's ``aggregate`` ("person:<id>"), so nothing but the
envelope is read, whatever the event's contract."""

from typing import Any

import pydantic_core
from aio_pika.abc import AbstractIncomingMessage

from shared.bus import Bus
from shared.db import DbConnection
from shared.parked import take_each


async def erase_from_outbox(conn: DbConnection, aggregate: str) -> int:
    """Delete the aggregate's outbox rows, published or not: an event about an erased person
    that has not gone out yet never will (the erasure's own event tells the consumers)."""
    status = await conn.execute("DELETE FROM outbox WHERE aggregate = $1", aggregate)
    return int(status.split()[-1])


async def erase_from_queue(bus: Bus, queue_name: str, aggregate: str) -> int:
    """Drop the messages about ``aggregate`` from a queue that holds messages at rest (a DLQ, the
    unrouted queue); the others go back to it untouched."""
    return await take_each(bus, queue_name, lambda message: _aggregate_of(message) == aggregate)


def _aggregate_of(message: AbstractIncomingMessage) -> Any:
    try:
        envelope = pydantic_core.from_json(message.body)
    except ValueError:
        return None
    return envelope.get("aggregate") if isinstance(envelope, dict) else None
