"""Counting, from the databases, the broker and the processes' own records, what a fault did.

The harness reads every service's schema at once: it is an auditor, not a service.

No count here is read from a table whose keys forbid what it counts. Effects are counted from
``faults.effects``, written by bench.faults.audited in each handler's transaction, with no key at
all: an event applied twice is two rows there, whatever the services' own tables allow.
"""

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from deploy.stack import SERVICES
from shared.bus import Bus

CREATE_EFFECT_LOG = """
    CREATE SCHEMA faults;
    CREATE TABLE faults.effects (
        consumer  text NOT NULL,
        event_id  uuid NOT NULL,
        person_id uuid,
        pid       integer NOT NULL,
        at        timestamptz NOT NULL DEFAULT clock_timestamp());
    GRANT USAGE ON SCHEMA faults TO PUBLIC;
    GRANT INSERT, SELECT ON faults.effects TO PUBLIC"""

# (consumer, routing key) for every subscription: each event published must reach each consumer
# of its type, and have an effect there.
_SUBSCRIBED = [(sub.consumer, key) for spec in SERVICES for sub in spec.subscriptions
               for key in sub.routing_keys]
_CONSUMERS = tuple(dict.fromkeys(consumer for consumer, _key in _SUBSCRIBED))
POISON_KEY = "person.registered"  # the routing key the poison messages are published with

_EVENTS_WITHOUT_EFFECT = """
    SELECT count(*) FROM engagement.outbox o
    JOIN unnest($1::text[], $2::text[]) AS s(consumer, key) ON s.key = o.routing_key
    WHERE NOT EXISTS (SELECT 1 FROM faults.effects e
                      WHERE e.consumer = s.consumer AND e.event_id = o.event_id)"""
# The same, for the events of these acknowledged people only.
_ACKNOWLEDGED_WITHOUT_EFFECT = """
    SELECT count(*) FROM engagement.people p
    JOIN engagement.outbox o ON o.payload->'data'->>'person_id' = p.id::text
    JOIN unnest($1::text[], $2::text[]) AS s(consumer, key) ON s.key = o.routing_key
    WHERE p.display_name = ANY($3::text[])
      AND NOT EXISTS (SELECT 1 FROM faults.effects e
                      WHERE e.consumer = s.consumer AND e.event_id = o.event_id)"""
_LOST = """
    SELECT count(*) FROM unnest($1::text[]) AS a(name)
    WHERE NOT EXISTS (SELECT 1 FROM engagement.people p WHERE p.display_name = a.name)"""
# Committed, and never answered with a 2xx: the client was not promised these (nor refused them).
_UNANSWERED = """
    SELECT count(*) FROM engagement.people p WHERE p.display_name <> ALL($1::text[])"""
_DUPLICATE_EFFECTS = "SELECT count(*) - count(DISTINCT (consumer, event_id)) FROM faults.effects"
# An effect without the state change and the event that caused it.
_ORPHAN_EFFECTS = """
    SELECT count(*) FROM faults.effects e
    WHERE NOT EXISTS (SELECT 1 FROM engagement.outbox o WHERE o.event_id = e.event_id)
       OR NOT EXISTS (SELECT 1 FROM engagement.people p WHERE p.id = e.person_id)"""


@dataclass(frozen=True)
class Counts:
    """Harm: every one must be 0."""

    lost: int  # answered 2xx, not in engagement.people
    undelivered: int  # (event, consumer of its type) pairs without the effect
    duplicate_effects: int  # an event applied more than once by one consumer
    orphan_effects: int  # an effect without its source row and event
    parked_wrongly: int  # a real event in a DLQ, or an injected poison message missing from one
    poison_parked: int  # injected poison messages found in the DLQs (evidence, not harm)


@dataclass(frozen=True)
class Deliveries:
    """Evidence that messages came back, from the consumers' delivery logs."""

    redelivered: int  # a second copy of a message at the same attempt, or one the broker flags redelivered
    retried: int  # deliveries of a retry (x-attempt above 0)


async def create_effect_log(conn: asyncpg.Connection) -> None:
    await conn.execute(CREATE_EFFECT_LOG)


async def missing_effects(conn: asyncpg.Connection, names: Sequence[str]) -> int:
    """How many of these acknowledged people still lack an effect somewhere (0 also for a name
    not registered at all: that is counted as lost)."""
    missing: int = await conn.fetchval(_ACKNOWLEDGED_WITHOUT_EFFECT, *_subscribed(), list(names))
    return missing


async def settled(conn: asyncpg.Connection, bus: Bus) -> bool:
    """Nothing left to move: every outbox row published, every queue but the DLQs drained,
    every event with the effect of each of its consumers."""
    if await conn.fetchval("SELECT count(*) FROM engagement.outbox WHERE published_at IS NULL"):
        return False
    if await _undelivered(conn):
        return False
    channel = await bus.channel()
    try:
        for consumer in _CONSUMERS:
            names = bus.queue_names(consumer)
            for queue in (names.main, *(names.delay(n) for n in range(len(names.delays_ms)))):
                declared = await channel.declare_queue(queue, passive=True)
                if declared.declaration_result.message_count:
                    return False
    finally:
        await channel.close()
    return True


async def count(conn: asyncpg.Connection, bus: Bus, acknowledged: Sequence[str],
                poison_ids: set[str]) -> Counts:
    wrong, poison = await _parked(bus, poison_ids)
    return Counts(
        lost=await conn.fetchval(_LOST, list(acknowledged)),
        undelivered=await _undelivered(conn),
        duplicate_effects=await conn.fetchval(_DUPLICATE_EFFECTS),
        orphan_effects=await conn.fetchval(_ORPHAN_EFFECTS),
        parked_wrongly=wrong,
        poison_parked=poison,
    )


async def unanswered(conn: asyncpg.Connection, acknowledged: Sequence[str]) -> int:
    answered: int = await conn.fetchval(_UNANSWERED, list(acknowledged))
    return answered


def deliveries(log: Path) -> Deliveries:
    """A delivery is a redelivery when its consumer saw the message before at the same attempt,
    or when the broker flags it so (delivered before, to a consumer that never logged it)."""
    seen: set[tuple[str, str, str]] = set()
    redelivered = retried = 0
    if log.exists():
        for line in log.read_text().splitlines():
            d = json.loads(line)
            key = (d["queue"], d["message_id"], d["attempt"])
            redelivered += key in seen or d["redelivered"]
            retried += d["attempt"] != "0"
            seen.add(key)
    return Deliveries(redelivered=redelivered, retried=retried)


def crash_hits(record: Path) -> Counter[str]:
    """Crash points reached, from the file shared.crashpoints appends to before the process dies."""
    return Counter(line.split()[0] for line in record.read_text().splitlines()) if record.exists() \
        else Counter()


async def _undelivered(conn: asyncpg.Connection) -> int:
    undelivered: int = await conn.fetchval(_EVENTS_WITHOUT_EFFECT, *_subscribed())
    return undelivered


def _subscribed() -> tuple[list[str], list[str]]:
    return [consumer for consumer, _key in _SUBSCRIBED], [key for _consumer, key in _SUBSCRIBED]


async def _parked(bus: Bus, poison_ids: set[str]) -> tuple[int, int]:
    """The DLQ of each consumer the poison messages were routed to (those bound to
    ``POISON_KEY``) must hold every one of them, and every DLQ nothing else: a real event parked
    there is one that failed (or was applied twice and refused), a poison missing was dropped.
    Returns what is parked wrongly, and how many poison messages are parked."""
    wrong = poison = 0
    routed_to = {consumer for consumer, key in _SUBSCRIBED if key == POISON_KEY}
    channel = await bus.channel()
    try:
        for consumer in _CONSUMERS:
            queue = await channel.declare_queue(bus.queue_names(consumer).dlq, passive=True)
            parked: list[str] = []
            # Read without acknowledging: closing the channel puts them all back.
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                parked.append(message.message_id or "")
            wrong += sum(1 for mid in parked if mid not in poison_ids)
            if consumer in routed_to:
                wrong += len(poison_ids - set(parked))
            poison += len(poison_ids & set(parked))
    finally:
        await channel.close()
    return wrong, poison
