"""Declaring a consumer's queues, and unbinding the routing keys it no longer handles.

The broker cannot tell us (over AMQP) which keys a queue is bound to, so each service keeps the
keys it bound in its own schema (``bus_bindings``) and unbinds the ones its code dropped."""

import asyncpg

from shared.bus import Bus


async def declare_consumer(
    bus: Bus, consumer: str, keys: list[str], pool: asyncpg.Pool | None = None
) -> None:
    """Declare the queues of one consumer. With the service's pool, also unbind the keys it bound
    before and handles no more, and remember the keys bound now."""
    queue = bus.queue_names(consumer).main
    if pool is None:
        await bus.declare_consumer_queues(consumer, keys)
        return
    bound_before = [
        r["routing_key"]
        for r in await pool.fetch("SELECT routing_key FROM bus_bindings WHERE queue = $1", queue)
    ]
    await bus.declare_consumer_queues(consumer, keys, unbind=bound_before)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM bus_bindings WHERE queue = $1 AND NOT routing_key = ANY($2::text[])", queue, keys
        )
        await conn.execute(
            """INSERT INTO bus_bindings (queue, routing_key) SELECT $1, unnest($2::text[])
               ON CONFLICT DO NOTHING""",
            queue,
            keys,
        )
