"""The floor under ``bus_drain``: the same work as the bus with nothing of the platform's plumbing.
A relay claims unsent outbox rows with FOR UPDATE SKIP LOCKED, publishes them persistent with
confirms to a topic exchange, marks them sent; two consumers, each on its own quorum queue, validate
each message with the same contracts, write their inbox rows and effects set-based in one
statement per batch and acknowledge the batch with one multiple ack. Each in a process of its own,
as the services' relay and consumers are; tables in ``bench_floor`` (bench.drain creates them).

    python -m bench.floor_bus relay    --database-url URL --amqp-url URL --exchange NAME
    python -m bench.floor_bus surveys|notifications --database-url URL --amqp-url URL --queue NAME
"""

import argparse
import asyncio
import contextlib

import aio_pika
import asyncpg
import uvloop
from aio_pika.abc import AbstractIncomingMessage

from shared.contracts import PersonRegistered, parse_message

BATCH = 256  # the services' relay_batch and consumer_prefetch
CONSUMER_BATCH = 128  # the services' consumer_batch
POLL_S = 1.0

_CLAIM = """SELECT id, event_id, routing_key, payload::text AS body FROM bench_floor.outbox
            WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"""
_MARK = "UPDATE bench_floor.outbox SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])"
_EVENTS = """unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[])
             AS e(event_id, person_id, language, postal_code, registered_at)"""
_FRESH = """fresh AS (INSERT INTO bench_floor.inbox_{kind} (consumer, event_id, event_type)
                      SELECT $1, event_id, 'person.registered' FROM unnest($2::uuid[]) AS i(event_id)
                      ON CONFLICT DO NOTHING RETURNING event_id)"""
# Fixed strings put together here, never input.
APPLY = {
    "surveys": f"""
        WITH {_FRESH.format(kind="surveys")},
        respondent AS (
            INSERT INTO bench_floor.respondents (person_id, language, postal_code, registered_at)
            SELECT e.person_id, e.language, e.postal_code, e.registered_at
            FROM {_EVENTS} JOIN fresh USING (event_id)
            RETURNING coalesce(postal_code, 'unknown') AS postal_code, language)
        INSERT INTO bench_floor.respondent_tallies (postal_code, language, respondents)
        SELECT postal_code, language, count(*) FROM respondent GROUP BY 1, 2
        ON CONFLICT (postal_code, language)
        DO UPDATE SET respondents = respondent_tallies.respondents + excluded.respondents""",  # noqa: S608
    "notifications": f"""
        WITH {_FRESH.format(kind="notifications")}
        INSERT INTO bench_floor.contact_points (person_id, language)
        SELECT e.person_id, e.language FROM {_EVENTS} JOIN fresh USING (event_id)
        ON CONFLICT (person_id)
        DO UPDATE SET language = excluded.language, updated_at = clock_timestamp()""",  # noqa: S608
}


async def relay(database_url: str, amqp_url: str, exchange_name: str) -> None:
    conn = await asyncpg.connect(database_url)
    listener = await asyncpg.connect(database_url)
    wake = asyncio.Event()
    await listener.add_listener("bench_floor_outbox", lambda *_: wake.set())
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(exchange_name)
    print("ready", flush=True)
    while True:
        wake.clear()
        async with conn.transaction():
            rows = await conn.fetch(_CLAIM, BATCH)
            if rows:
                await asyncio.gather(*(
                    exchange.publish(aio_pika.Message(r["body"].encode(), message_id=str(r["event_id"]),
                                                      content_type="application/json",
                                                      delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                     routing_key=r["routing_key"])
                    for r in rows))
                await conn.execute(_MARK, [r["id"] for r in rows])
        if not rows:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), POLL_S)


async def consume(kind: str, database_url: str, amqp_url: str, queue_name: str) -> None:
    conn = await asyncpg.connect(database_url)
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=BATCH)
    queue = await channel.get_queue(queue_name, ensure=False)
    incoming: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    await queue.consume(incoming.put)
    print("ready", flush=True)
    while True:
        batch = [await incoming.get()]
        while len(batch) < CONSUMER_BATCH and not incoming.empty():
            batch.append(incoming.get_nowait())
        events = []
        for message in batch:
            envelope, event = parse_message(message.body)
            assert isinstance(event, PersonRegistered)
            events.append((envelope.id, event))
        await conn.execute(
            APPLY[kind], f"floor.{kind}", [i for i, _ in events], [e.person_id for _, e in events],
            [e.language for _, e in events], [e.postal_code for _, e in events],
            [e.registered_at for _, e in events])
        await batch[-1].ack(multiple=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_bus")
    parser.add_argument("role", choices=("relay", *APPLY))
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--exchange")
    parser.add_argument("--queue")
    args = parser.parse_args()
    work = (relay(args.database_url, args.amqp_url, args.exchange) if args.role == "relay"
            else consume(args.role, args.database_url, args.amqp_url, args.queue))
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(work)


if __name__ == "__main__":
    main()
