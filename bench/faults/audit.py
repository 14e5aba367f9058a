"""Counting, from the databases and the broker, what a fault did to the events.

The harness reads every service's schema at once: it is an auditor, not a service.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from deploy.stack import SERVICES
from shared.bus import Bus

# A person counts as delivered once every consumer of person.registered has its effect.
_ACKNOWLEDGED_WITHOUT_EFFECT = """
    SELECT count(*) FROM unnest($1::uuid[]) AS a(id)
    WHERE NOT EXISTS (SELECT 1 FROM surveys.respondents r WHERE r.person_id = a.id)
       OR NOT EXISTS (SELECT 1 FROM notifications.contact_points c WHERE c.person_id = a.id)"""
_UNDELIVERED = """
    SELECT count(*) FROM engagement.people p
    WHERE NOT EXISTS (SELECT 1 FROM surveys.respondents r WHERE r.person_id = p.id)
       OR NOT EXISTS (SELECT 1 FROM notifications.contact_points c WHERE c.person_id = p.id)"""
# The inbox holds one row per (consumer, event id), and every event consumed today is a
# person.registered: the same person handled under a second event id, or an event no outbox
# ever held, shows as more rows than (consumer, person) pairs.
_INBOX_EXCESS = """
    SELECT count(*) - count(DISTINCT (i.consumer, o.payload->'data'->>'person_id'))
    FROM (SELECT consumer, event_id FROM surveys.inbox
          UNION ALL SELECT consumer, event_id FROM notifications.inbox) AS i
    LEFT JOIN engagement.outbox o ON o.event_id = i.event_id"""
_CONSUMER_QUEUES = tuple(sub.consumer for spec in SERVICES for sub in spec.subscriptions)


@dataclass(frozen=True)
class Counts:
    lost: int
    undelivered: int
    duplicate_effects: int
    duplicate_notices: int
    parked_wrongly: int


async def missing_effects(conn: asyncpg.Connection, ids: Sequence[UUID]) -> int:
    """How many of these acknowledged people still lack an effect somewhere."""
    missing: int = await conn.fetchval(_ACKNOWLEDGED_WITHOUT_EFFECT, list(ids))
    return missing


async def settled(conn: asyncpg.Connection, bus: Bus) -> bool:
    """Nothing left to move: every outbox row published, every queue but the DLQs drained,
    every registered person with all of their effects."""
    if await conn.fetchval("SELECT count(*) FROM engagement.outbox WHERE published_at IS NULL"):
        return False
    if await _undelivered(conn):
        return False
    channel = await bus.channel()
    try:
        for consumer in _CONSUMER_QUEUES:
            names = bus.queue_names(consumer)
            for queue in (names.main, *(names.delay(n) for n in range(len(names.delays_ms)))):
                declared = await channel.declare_queue(queue, passive=True)
                if declared.declaration_result.message_count:
                    return False
    finally:
        await channel.close()
    return True


async def count(conn: asyncpg.Connection, bus: Bus, acknowledged: Sequence[UUID],
                poison_ids: set[str]) -> Counts:
    lost = await conn.fetchval(
        """SELECT count(*) FROM unnest($1::uuid[]) AS a(id)
           WHERE NOT EXISTS (SELECT 1 FROM engagement.people p WHERE p.id = a.id)""",
        list(acknowledged))
    # Tallies are incremented per event, so an event applied twice counts one respondent twice.
    tally_excess = await conn.fetchval(
        """SELECT (SELECT coalesce(sum(respondents), 0) FROM surveys.respondent_tallies)
                - (SELECT count(*) FROM surveys.respondents)""")
    inbox_excess = await conn.fetchval(_INBOX_EXCESS)
    # No notice is sent yet: the one thing that could be sent twice is a contact point. Its
    # primary key makes this 0 by construction; a second attempt would fail and be parked instead.
    contact_points_twice = await conn.fetchval(
        "SELECT count(*) - count(DISTINCT person_id) FROM notifications.contact_points")
    return Counts(
        lost=lost,
        undelivered=await _undelivered(conn),
        duplicate_effects=tally_excess + inbox_excess,
        duplicate_notices=contact_points_twice,
        parked_wrongly=await _parked_wrongly(bus, poison_ids),
    )


async def _undelivered(conn: asyncpg.Connection) -> int:
    undelivered: int = await conn.fetchval(_UNDELIVERED)
    return undelivered


async def _parked_wrongly(bus: Bus, poison_ids: set[str]) -> int:
    """Each DLQ must hold every injected poison message and nothing else: a real event parked
    there is one that failed (or was applied twice and refused), a poison missing was dropped."""
    wrong = 0
    channel = await bus.channel()
    try:
        for consumer in _CONSUMER_QUEUES:
            queue = await channel.declare_queue(bus.queue_names(consumer).dlq, passive=True)
            parked: list[str] = []
            # Read without acknowledging: closing the channel puts them all back.
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                parked.append(message.message_id or "")
            wrong += sum(1 for mid in parked if mid not in poison_ids)
            wrong += len(poison_ids - set(parked))
    finally:
        await channel.close()
    return wrong
