"""Ways the bus could lose or block events, each reproduced against the real broker and database:
returned publishes, at-most-once dead-lettering, handler errors taken for outages, swallowed
database errors, poison messages, settling failures, stale events, strict receivers and queue
arguments that change between deployments."""

import asyncio
import contextlib
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import hypothesis
import pytest
from hypothesis import strategies as st

from shared.bus import Bus
from shared.consumer import Consumer, Subscription
from shared.contracts import (
    Audience,
    CampaignLaunched,
    Consent,
    ConsentChanged,
    Envelope,
    InvalidMessage,
    parse_message,
)
from shared.migrations import Migration
from shared.outbox import Emission, OutboxRelay, emit, emit_many
from shared.parked import list_unrouted, replay_unrouted
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.events import ThingHappened
from tests.support.plumbing import plumbing_pool, thing_contract  # noqa: F401 (fixture)
from tests.support.waiting import eventually

Start = Callable[[Awaitable[None]], Any]
QUEUE = "hardening.things"
SCHEMA = "hardening_tests"

TABLES = Migration(
    "0001_things.sql",
    """-- No uniqueness on purpose: an event applied twice shows as two rows.
       CREATE TABLE effects (event_id uuid NOT NULL, name text NOT NULL);
       CREATE TABLE things (thing_id uuid PRIMARY KEY, value text NOT NULL);""",
)


@pytest.fixture(scope="module")
async def pool(run_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    async for pool in plumbing_pool(run_settings, SCHEMA, TABLES):
        yield pool


def thing(name: str, thing_id: uuid.UUID | None = None, value: str = "") -> ThingHappened:
    return ThingHappened(thing_id=thing_id or uuid.uuid4(), name=name, value=value)


async def emit_things(pool: asyncpg.Pool, names: list[str]) -> list[uuid.UUID]:
    async with pool.acquire() as conn, conn.transaction():
        envelopes = await emit(conn, [thing(n) for n in names], producer="tests")
    return [e.id for e in envelopes]


async def effects_of(pool: asyncpg.Pool, event_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    rows = await pool.fetch("SELECT event_id FROM effects WHERE event_id = ANY($1::uuid[])", event_ids)
    return [r["event_id"] for r in rows]


def recording(
    calls: list[str] | None = None, *, fail: Callable[[ThingHappened, Any], Awaitable[None]] | None = None
) -> Subscription:
    async def record(event: ThingHappened, conn: Any, envelope: Envelope) -> None:
        if calls is not None:
            calls.append(event.name)
        if fail is not None:
            await fail(event, conn)
        await conn.execute("INSERT INTO effects (event_id, name) VALUES ($1, $2)", envelope.id, event.name)

    return Subscription(QUEUE, {ThingHappened: record})


async def drain(bus: Bus, queue_name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    channel = await bus.channel()
    queue = await channel.get_queue(queue_name)
    found = []
    while (message := await queue.get(fail=False)) is not None:
        await message.ack()
        found.append(message)
    await channel.close()
    return found


async def parked(bus: Bus, expected: int, timeout: float = 30) -> list[aio_pika.abc.AbstractIncomingMessage]:
    found: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def take() -> int:
        found.extend(await drain(bus, bus.queue_names(QUEUE).dlq))
        return len(found)

    await eventually(take, lambda n: n >= expected, timeout=timeout)
    return found


def queue_arguments(settings: Settings, name: str) -> dict[str, Any]:
    vhost = settings.rabbitmq_url.rsplit("/", 1)[1]
    out = subprocess.run(
        ["rabbitmqctl", "-q", "--formatter", "json", "list_queues", "-p", vhost, "name", "arguments"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    [queue] = [q for q in json.loads(out) if q["name"] == name]
    return {key: value for key, _type, value in queue["arguments"]}


# 1. Returned publishes ------------------------------------------------------------------------


async def test_an_event_published_before_its_queue_exists_waits_in_unrouted_and_can_be_replayed(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    [envelope] = [Envelope.wrap(thing("too early"), producer="tests")]
    await bus.publish(envelope.type, envelope.model_dump_json().encode(), message_id=str(envelope.id))

    listed = await eventually(lambda: list_unrouted(bus), lambda found: len(found) == 1)
    assert listed[0].message_id == str(envelope.id)
    assert listed[0].routing_key == "thing.happened"
    assert "no queue was bound" in listed[0].error

    subscription = recording()
    await declare_topology(bus, [subscription])
    assert await replay_unrouted(bus) == 1
    background(Consumer(bus, pool, subscription, settings).run())
    await eventually(lambda: effects_of(pool, [envelope.id]), lambda found: len(found) == 1)
    assert await list_unrouted(bus) == []


async def test_a_replay_right_after_a_listing_finds_every_message(bus: Bus) -> None:
    """Listing leaves the messages where they were; an operator's next command must see them
    at once, not after the broker got round to returning them."""
    envelope = Envelope.wrap(thing("listed then replayed"), producer="tests")
    await bus.publish("thing.unbound", envelope.model_dump_json().encode(), message_id=str(envelope.id))
    await eventually(lambda: list_unrouted(bus), lambda found: len(found) == 1)
    for _ in range(15):
        assert len(await list_unrouted(bus)) == 1
        assert await replay_unrouted(bus) == 1  # published again, and unrouted again


async def test_a_returned_publish_keeps_its_outbox_row_unsent(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    subscription = recording()
    await declare_topology(bus, [subscription])
    channel = await bus.channel()
    await channel.queue_delete(bus.unrouted_queue)  # nowhere left to route an unbound event
    await channel.close()
    envelope = Envelope.wrap(thing("returned"), producer="tests")
    await pool.execute(  # an event no queue is bound for, with nowhere left to route it
        """INSERT INTO outbox (event_id, routing_key, payload)
           VALUES ($1, 'thing.unheard_of', $2::text::jsonb)""",
        envelope.id,
        envelope.model_dump_json(),
    )

    relay = OutboxRelay(pool, bus, SCHEMA, settings)
    with pytest.raises(Exception, match=r"(?i)return|unroutable|NO_ROUTE"):
        await relay.publish_batch()
    assert await pool.fetchval("SELECT published_at FROM outbox WHERE event_id = $1", envelope.id) is None

    await bus.declare_exchanges()  # the unrouted queue is back, as at the next start
    await relay.publish_batch()
    listed = await eventually(lambda: list_unrouted(bus), lambda found: len(found) >= 1)
    assert str(envelope.id) in {m.message_id for m in listed}
    await pool.execute("DELETE FROM outbox WHERE event_id = $1", envelope.id)


async def test_a_retry_sent_to_a_missing_queue_keeps_the_message_until_it_is_parked(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    limited = settings.model_copy(update={"delivery_limit": 2})
    calls: list[str] = []

    async def always(event: ThingHappened, conn: Any) -> None:
        raise RuntimeError("handler bug")

    subscription = recording(calls, fail=always)
    limited_bus = Bus(limited, name="limited")
    await limited_bus.connect()
    try:
        await declare_topology(limited_bus, [subscription])
        background(Consumer(limited_bus, pool, subscription, limited).run())
        await asyncio.sleep(0.5)  # consuming, its queues declared
        channel = await limited_bus.channel()
        await channel.queue_delete(limited_bus.queue_names(QUEUE).delay(0))
        await channel.close()
        [event_id] = await emit_things(pool, ["retry has nowhere to go"])
        background(OutboxRelay(pool, limited_bus, SCHEMA, limited).run())

        # Each delivery fails and its retry cannot be sent, so it goes back to the queue until
        # the broker parks it: 1 + delivery limit deliveries, never acknowledged as handled.
        [message] = await parked(limited_bus, 1, timeout=60)
        assert message.message_id == str(event_id)
        assert len(calls) == 1 + limited.delivery_limit
    finally:
        await limited_bus.close()


# 2. Dead-lettering from the main queue ----------------------------------------------------------


async def test_the_main_queue_dead_letters_at_least_once(settings: Settings, bus: Bus) -> None:
    await declare_topology(bus, [recording()])
    arguments = queue_arguments(settings, bus.queue_names(QUEUE).main)
    assert arguments["x-dead-letter-strategy"] == "at-least-once"
    assert arguments["x-overflow"] == "reject-publish"


async def test_a_healthy_message_survives_as_many_consumer_restarts_as_the_delivery_limit(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """Every requeue counts toward x-delivery-limit (RabbitMQ 3.x), a dropped connection too. A
    healthy message whose consumer dies before acking survives `delivery_limit` restarts."""
    limited = settings.model_copy(update={"delivery_limit": 3})
    bus = Bus(limited, name="restarts")
    await bus.connect()
    try:
        await declare_topology(bus, [recording()])
        body = Envelope.wrap(thing("healthy"), producer="tests").model_dump_json().encode()
        await bus.publish("thing.happened", body, message_id="healthy")
        deliveries = 0
        while True:
            connection = await aio_pika.connect(limited.rabbitmq_url)
            channel = await connection.channel()
            queue = await channel.get_queue(bus.queue_names(QUEUE).main)
            message = await _get_or_none(queue)
            await connection.close()  # the consumer "dies" before its ack
            if message is None:
                break
            deliveries += 1
        # Delivered 1 + limit times: it survives `delivery_limit` restarts, then the broker parks it.
        assert deliveries == 1 + limited.delivery_limit
        [dead] = await parked(bus, 1)
        assert dead.message_id == "healthy"
    finally:
        await bus.close()


async def _get_or_none(queue: aio_pika.abc.AbstractQueue) -> Any:
    for _ in range(40):
        message = await queue.get(fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.05)
    return None


# 3. A handler's own errors are not an outage ----------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError("template missing"),
        ConnectionRefusedError("smtp down"),
        asyncpg.InterfaceError("arity"),
    ],
    ids=["missing-file", "smtp-refused", "interface-error"],
)
async def test_a_handler_error_that_looks_like_an_outage_is_retried_then_parked(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start, error: Exception
) -> None:
    async def raise_it(event: ThingHappened, conn: Any) -> None:
        if event.name == "bad":
            raise error

    subscription = recording(fail=raise_it)
    await declare_topology(bus, [subscription])
    bad, good = await emit_things(pool, ["bad", "good"])
    background(OutboxRelay(pool, bus, SCHEMA, settings).run())
    background(Consumer(bus, pool, subscription, settings).run())

    [message] = await parked(bus, 1)
    assert message.message_id == str(bad)
    assert type(error).__name__ in str(message.headers["x-error"])
    assert await effects_of(pool, [bad, good]) == [good]


# 4. A handler that swallows a database error ------------------------------------------------------


@pytest.mark.parametrize("position", ["first", "middle", "last"])
async def test_a_handler_that_swallows_a_database_error_loses_nobody_elses_work(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start, position: str
) -> None:
    calls: list[str] = []

    async def swallow(event: ThingHappened, conn: Any, envelope: Envelope) -> None:
        calls.append(event.name)
        if event.name == "swallows":
            # The bug: it catches the error and returns as if it had done its work, leaving
            # the shared transaction aborted. PostgreSQL answers the COMMIT with ROLLBACK.
            with contextlib.suppress(asyncpg.DivisionByZeroError):
                await conn.execute("SELECT 1 / 0")
            return
        await conn.execute("INSERT INTO effects (event_id, name) VALUES ($1, $2)", envelope.id, event.name)

    subscription = Subscription(QUEUE, {ThingHappened: swallow})
    await declare_topology(bus, [subscription])
    names = {
        "first": ["swallows", "a", "b"],
        "middle": ["a", "swallows", "b"],
        "last": ["a", "b", "swallows"],
    }
    ids = dict(zip(names[position], await emit_things(pool, names[position]), strict=True))
    # Published before the consumer starts, so the three arrive in one batch.
    await OutboxRelay(pool, bus, SCHEMA, settings).publish_batch()
    background(Consumer(bus, pool, subscription, settings).run())

    [message] = await parked(bus, 1)
    assert message.message_id == str(ids["swallows"])
    assert "aborted" in str(message.headers["x-error"])
    found = await eventually(lambda: effects_of(pool, list(ids.values())), lambda f: len(f) == 2)
    assert sorted(found) == sorted([ids["a"], ids["b"]])
    # Once per delivery, plus once more alone when its batch had to be replayed one by one.
    assert 1 + len(settings.retry_delays_ms) <= calls.count("swallows") <= 2 + len(settings.retry_delays_ms)


# 5. Nothing a message holds can end a process ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe", b"1" * 5_000],
    ids=["deep-array", "deep-object", "not-utf8", "huge-number"],
)
async def test_a_malformed_message_is_parked_and_the_consumer_lives_on(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start, body: bytes
) -> None:
    subscription = recording()
    await declare_topology(bus, [subscription])
    await bus.publish("thing.happened", body, message_id="malformed")
    consumer = background(Consumer(bus, pool, subscription, settings).run())
    background(OutboxRelay(pool, bus, SCHEMA, settings).run())

    [message] = await parked(bus, 1)
    assert "InvalidMessage: not JSON" in str(message.headers["x-error"])
    assert message.headers["x-attempts"] == 0  # never retried: it can never succeed
    events = await emit_things(pool, ["still served"])
    await eventually(lambda: effects_of(pool, events), lambda found: len(found) == 1)
    assert not consumer.done()


async def test_a_garbled_attempt_header_does_not_end_the_consumer(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    async def always(event: ThingHappened, conn: Any) -> None:
        if event.name == "garbled":
            raise RuntimeError("fails")

    subscription = recording(fail=always)
    await declare_topology(bus, [subscription])
    body = Envelope.wrap(thing("garbled"), producer="tests").model_dump_json().encode()
    await bus.publish("thing.happened", body, message_id="garbled", headers={"x-attempt": "not a number"})
    consumer = background(Consumer(bus, pool, subscription, settings).run())

    [message] = await parked(bus, 1)
    assert message.message_id == "garbled"
    events = await emit_things(pool, ["after garbled"])
    background(OutboxRelay(pool, bus, SCHEMA, settings).run())
    await eventually(lambda: effects_of(pool, events), lambda found: len(found) == 1)
    assert not consumer.done()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.binary(max_size=2000) | _JSON.map(lambda v: json.dumps(v).encode()))
def test_parse_message_answers_anything_with_an_event_or_invalid_message(body: bytes) -> None:
    with contextlib.suppress(InvalidMessage):  # parked; anything else would end the consumer
        parse_message(body)


# 6. Settling: a failed forward, and a channel dying after one ---------------------------------------


async def test_a_channel_dying_after_a_retry_was_sent_starts_no_second_retry_chain(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    calls: list[str] = []

    async def always(event: ThingHappened, conn: Any) -> None:
        raise RuntimeError("handler bug")

    subscription = recording(calls, fail=always)
    await declare_topology(bus, [subscription])

    class LosesItsChannelAfterTheFirstRetry(Consumer):
        lost = False

        async def _ack(self, deliveries: Any, *, multiple: bool = False) -> None:
            if not self.lost and deliveries[-1].outcome == "retried":
                self.lost = True
                await deliveries[-1].message.channel.close()  # the ack is lost; redelivered
            await super()._ack(deliveries, multiple=multiple)

    [event_id] = await emit_things(pool, ["fails every time"])
    background(OutboxRelay(pool, bus, SCHEMA, settings).run())
    consumer_bus = Bus(settings, name="loses channel")
    await consumer_bus.connect()
    try:
        background(LosesItsChannelAfterTheFirstRetry(consumer_bus, pool, subscription, settings).run())
        [message] = await parked(bus, 1)
        assert message.message_id == str(event_id)
        await asyncio.sleep(1.5)  # a second chain would park a second copy by now
        assert await drain(bus, bus.queue_names(QUEUE).dlq) == []
        assert len(calls) == 1 + len(settings.retry_delays_ms)
    finally:
        await consumer_bus.close()


# 7. Stale events ------------------------------------------------------------------------------------


async def test_events_carry_their_aggregate_and_a_sequence_growing_per_aggregate(pool: asyncpg.Pool) -> None:
    thing_id = uuid.uuid4()
    sequences = []
    for value in ("one", "two", "three"):
        async with pool.acquire() as conn, conn.transaction():
            [envelope] = await emit(
                conn, thing("t", thing_id, value), producer="tests", aggregate=f"thing:{thing_id}"
            )
        sequences.append(envelope.sequence)
        assert envelope.aggregate == f"thing:{thing_id}"
    assert sequences == [1, 2, 3]
    async with pool.acquire() as conn, conn.transaction():
        [other] = await emit(conn, thing("u"), producer="tests", aggregate=f"thing:{uuid.uuid4()}")
    assert other.sequence == 1


async def test_many_emissions_at_once_are_numbered_as_if_written_one_after_another(
    pool: asyncpg.Pool,
) -> None:
    a, b = f"thing:{uuid.uuid4()}", f"thing:{uuid.uuid4()}"
    async with pool.acquire() as conn, conn.transaction():
        await emit(conn, thing("earlier"), producer="tests", aggregate=a)
    async with pool.acquire() as conn, conn.transaction():
        written = await emit_many(
            conn,
            [
                Emission([thing("a2"), thing("a3")], a),
                Emission([thing("b1")], b),
                Emission([thing("free")]),
                Emission([thing("a4")], a),
            ],
            producer="tests",
        )
    assert [[(e.aggregate, e.sequence) for e in envelopes] for envelopes in written] == [
        [(a, 2), (a, 3)],
        [(b, 1)],
        [(None, None)],
        [(a, 4)],
    ]
    stored = await pool.fetch(
        "SELECT aggregate, payload->>'sequence' AS sequence FROM outbox WHERE event_id = ANY($1::uuid[])",
        [e.id for envelopes in written for e in envelopes],
    )
    assert sorted((r["aggregate"] or "", r["sequence"] or "") for r in stored) == sorted(
        [(a, "2"), (a, "3"), (b, "1"), ("", ""), (a, "4")]
    )


async def test_a_late_event_does_not_undo_a_later_one(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    from shared.ordering import newer_than_applied

    async def project(event: ThingHappened, conn: Any, envelope: Envelope) -> None:
        if await newer_than_applied(conn, QUEUE, envelope):
            await conn.execute(
                """INSERT INTO things (thing_id, value) VALUES ($1, $2)
                   ON CONFLICT (thing_id) DO UPDATE SET value = EXCLUDED.value""",
                event.thing_id,
                event.value,
            )

    subscription = Subscription(QUEUE, {ThingHappened: project})
    await declare_topology(bus, [subscription])
    thing_id = uuid.uuid4()
    envelopes = []
    for value in ("old", "new"):
        async with pool.acquire() as conn, conn.transaction():
            envelopes += await emit(
                conn, thing("t", thing_id, value), producer="tests", aggregate=f"thing:{thing_id}"
            )
    await pool.execute(
        "UPDATE outbox SET published_at = now() WHERE event_id = ANY($1::uuid[])", [e.id for e in envelopes]
    )
    for envelope in reversed(envelopes):  # the later event arrives first (a retry came back late)
        await bus.publish(envelope.type, envelope.model_dump_json().encode(), message_id=str(envelope.id))
    background(Consumer(bus, pool, subscription, settings).run())

    await eventually(
        lambda: pool.fetchval(
            "SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])", [e.id for e in envelopes]
        ),
        lambda n: n == 2,
    )
    assert await pool.fetchval("SELECT value FROM things WHERE thing_id = $1", thing_id) == "new"


# 8. Tolerant receivers -------------------------------------------------------------------------------


def test_a_receiver_ignores_fields_it_does_not_know_yet() -> None:
    envelope = json.loads(Envelope.wrap(thing("newer producer"), producer="tests").model_dump_json())
    envelope["trace_parent"] = "00-abc"
    envelope["data"]["colour"] = "green"
    parsed, event = parse_message(json.dumps(envelope).encode())
    assert isinstance(event, ThingHappened) and event.name == "newer producer"
    assert parsed.id == uuid.UUID(envelope["id"])


def test_a_receiver_ignores_unknown_fields_inside_an_events_parts_too() -> None:
    """A newer producer may add a field to a part of an event (a campaign's audience, one consent
    of a set), not only to the event itself."""
    launched = CampaignLaunched(
        campaign_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        title="Manufacturing the Dream",
        audience=Audience(zip_codes=("94607",)),
        launched_at=datetime.now(UTC),
    )
    changed = ConsentChanged(
        person_id=uuid.uuid4(),
        consents=(Consent(channel="email", purpose="meetings"),),
        changed_at=datetime.now(UTC),
    )
    for event, add in (
        (launched, lambda data: data["audience"].update(languages=["es"])),
        (changed, lambda data: data["consents"][0].update(quiet_hours="21-8")),
    ):
        envelope = json.loads(Envelope.wrap(event, producer="tests").model_dump_json())
        add(envelope["data"])
        _, parsed = parse_message(json.dumps(envelope).encode())
        assert parsed == event


def test_a_producer_may_not_add_fields_the_contract_lacks() -> None:
    with pytest.raises(ValueError, match="colour"):
        ThingHappened(thing_id=uuid.uuid4(), name="x", colour="green")  # type: ignore[call-arg]


# 9. Queue arguments change between deployments ---------------------------------------------------------


async def test_changed_delays_and_delivery_limit_do_not_stop_the_consumer(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    subscription = recording()
    await declare_topology(bus, [subscription])
    changed = settings.model_copy(update={"retry_delays_ms": [70, 300, 900], "delivery_limit": 7})
    changed_bus = Bus(changed, name="next deployment")
    await changed_bus.connect()
    try:
        await declare_topology(changed_bus, [subscription])
        consumer = background(Consumer(changed_bus, pool, subscription, changed).run())
        events = await emit_things(pool, ["after the upgrade"])
        background(OutboxRelay(pool, changed_bus, SCHEMA, changed).run())
        await eventually(lambda: effects_of(pool, events), lambda found: len(found) == 1)
        assert not consumer.done()
    finally:
        await changed_bus.close()


async def test_a_routing_key_nobody_handles_any_more_is_unbound(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    async def ignore(event: Any, conn: Any, envelope: Envelope) -> None:
        return None

    class Retired(ThingHappened):
        type = "thing.retired"

    before = Subscription(QUEUE, {ThingHappened: ignore, Retired: ignore})
    after = Subscription(QUEUE, {ThingHappened: ignore})
    await declare_topology(bus, [before], pool=pool)
    await declare_topology(bus, [after], pool=pool)
    body = Envelope.wrap(Retired(thing_id=uuid.uuid4(), name="old"), producer="tests").model_dump_json()
    await bus.publish("thing.retired", body.encode(), message_id="retired")

    listed = await eventually(lambda: list_unrouted(bus), lambda found: len(found) == 1)
    assert listed[0].message_id == "retired"
    assert await drain(bus, bus.queue_names(QUEUE).main) == []
