"""The event plumbing against the real PostgreSQL and RabbitMQ: outbox, relays, inbox, retries, DLQ."""

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aio_pika
import asyncpg
import pytest

from services.engagement.people import PersonRegistration
from services.engagement.registration import register_person
from services.notifications.app import SPEC as NOTIFICATIONS
from services.surveys.app import SPEC as SURVEYS
from shared.bus import Bus
from shared.consumer import CONSUMED, Consumer, Subscription
from shared.contracts import Envelope
from shared.migrations import Migration
from shared.outbox import BACKLOG, OutboxRelay, emit
from shared.parked import list_parked, replay_parked
from shared.retention import purge_once
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.events import ThingHappened
from tests.support.plumbing import plumbing_pool, thing_contract  # noqa: F401 (fixture)
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

Start = Callable[[Awaitable[None]], Any]
QUEUE = "tests.effects"



# No uniqueness on purpose: if an event took effect twice, it would show as two rows.
# Checked only at commit, so a handler breaking it fails its whole batch, not its savepoint.
DEFERRED = Migration(
    "0002_deferred.sql",
    """CREATE TABLE deferred_once (person_id uuid,
           CONSTRAINT deferred_once_unique UNIQUE (person_id) DEFERRABLE INITIALLY DEFERRED);""",
)
EFFECTS = Migration(
    "0001_effects.sql", "CREATE TABLE effects (event_id uuid NOT NULL, person_id uuid NOT NULL);"
)


@pytest.fixture(scope="session")
async def flow(run_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A schema of the tests' own with the plumbing tables and an ``effects`` table."""
    async for pool in plumbing_pool(run_settings, "flow_tests", EFFECTS, DEFERRED):
        yield pool


def person(name: str = "Ana") -> ThingHappened:
    return ThingHappened(thing_id=uuid.uuid4(), name=name)


async def emit_people(pool: asyncpg.Pool, names: list[str]) -> list[uuid.UUID]:
    events = [person(n) for n in names]
    async with pool.acquire() as conn, conn.transaction():
        envelopes = await emit(conn, events, producer="tests")
    return [e.id for e in envelopes]


def recording(calls: list[str] | None = None, fail_names: frozenset[str] = frozenset()) -> Subscription:
    async def record(event: ThingHappened, conn: asyncpg.Connection, envelope: Envelope) -> None:
        if calls is not None:
            calls.append(event.name)
        if event.name in fail_names:
            raise RuntimeError(f"cannot handle {event.name}")
        if event.name == "breaks at commit":
            for _ in range(2):
                await conn.execute("INSERT INTO deferred_once VALUES ($1)", event.thing_id)
        await conn.execute(
            "INSERT INTO effects (event_id, person_id) VALUES ($1, $2)", envelope.id, event.thing_id
        )

    return Subscription(QUEUE, {ThingHappened: record})


async def effects_of(pool: asyncpg.Pool, event_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    rows = await pool.fetch("SELECT event_id FROM effects WHERE event_id = ANY($1::uuid[])", event_ids)
    return [r["event_id"] for r in rows]


async def declare(bus: Bus, subscription: Subscription) -> None:
    await declare_topology(bus, [subscription])


async def parked(bus: Bus, queue: str, expected: int) -> list[aio_pika.abc.AbstractIncomingMessage]:
    channel = await bus.channel()
    dlq = await channel.get_queue(bus.queue_names(queue).dlq)
    found: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def take() -> int:
        while (message := await dlq.get(fail=False)) is not None:
            found.append(message)
        return len(found)

    await eventually(take, lambda n: n >= expected)
    return found


async def test_a_registration_reaches_each_consumer_with_one_effect(
    settings: Settings, bus: Bus, pools: dict[str, asyncpg.Pool], background: Start
) -> None:
    for spec in (SURVEYS, NOTIFICATIONS):
        await declare_topology(bus, spec.subscriptions)
    async with pools["engagement"].acquire() as conn:
        registration = await register_person(
            conn,
            PersonRegistration(
                display_name="Rosa",
                email=f"rosa-{uuid.uuid4()}@example.org",
                postal_code="95116",
                language="es",
                consent_to_contact=True,
            ),
        )
    assert registration.created
    person_id = registration.person_id
    background(OutboxRelay(pools["engagement"], bus, "engagement", settings).run())
    background(Consumer(bus, pools["surveys"], SURVEYS.subscriptions[0], settings).run())
    background(Consumer(bus, pools["notifications"], NOTIFICATIONS.subscriptions[0], settings).run())

    contact = await eventually(
        lambda: pools["notifications"].fetchrow(
            "SELECT * FROM contact_points WHERE person_id = $1", person_id
        ),
        # person.registered brings the language, person.consent_requested the name: either first.
        lambda row: row is not None and None not in (row["display_name"], row["language"]),
    )
    assert contact is not None
    assert (contact["display_name"], contact["language"]) == ("Rosa", "es")
    assert contact["consent_requested"]
    assert contact["consent_confirmed_at"] is None  # asked for, not confirmed yet
    respondent = await eventually(
        lambda: pools["surveys"].fetchrow("SELECT * FROM respondents WHERE person_id = $1", person_id),
        lambda row: row is not None,
    )
    assert respondent is not None and respondent["postal_code"] == "95116"
    tallied = await pools["surveys"].fetchval(
        "SELECT respondents FROM respondent_tallies WHERE postal_code = '95116' AND language = 'es'"
    )
    counted = await pools["surveys"].fetchval(
        "SELECT count(*) FROM respondents WHERE postal_code = '95116' AND language = 'es'"
    )
    assert tallied == counted >= 1
    event_id = await pools["engagement"].fetchval(
        "SELECT event_id FROM outbox WHERE payload->'data'->>'person_id' = $1 AND routing_key = $2",
        str(person_id),
        "person.registered",
    )
    for service in ("surveys", "notifications"):
        assert await pools[service].fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", event_id) == 1
    # surveys keeps no contact data
    surveys_columns = await pools["surveys"].fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'surveys'"
    )
    assert not {"email", "phone", "display_name"} & {r["column_name"] for r in surveys_columns}


async def test_an_event_whose_transaction_rolled_back_is_never_published(
    settings: Settings, bus: Bus, flow: asyncpg.Pool, background: Start
) -> None:
    subscription = recording()
    await declare(bus, subscription)
    rolled_back = person("never")

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with flow.acquire() as conn, conn.transaction():
            await emit(conn, rolled_back, producer="tests")
            raise Abort
    committed = await emit_people(flow, ["after"])
    background(OutboxRelay(flow, bus, "flow_tests", settings).run())
    background(Consumer(bus, flow, subscription, settings).run())

    await eventually(lambda: effects_of(flow, committed), lambda found: len(found) == 1)
    assert (
        await flow.fetchval("SELECT count(*) FROM effects WHERE person_id = $1", rolled_back.thing_id) == 0
    )
    assert (
        await flow.fetchval(
            "SELECT count(*) FROM outbox WHERE payload->'data'->>'thing_id' = $1", str(rolled_back.thing_id)
        )
        == 0
    )


async def test_events_written_while_the_broker_is_unreachable_arrive_once_it_returns(
    settings: Settings, flow: asyncpg.Pool, background: Start
) -> None:
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    vhost = settings.rabbitmq_url.rsplit("/", 1)[1]
    cut_settings = settings.model_copy(
        update={"rabbitmq_url": f"amqp://guest:guest@127.0.0.1:{proxy.port}/{vhost}?reconnect_interval=0.5"}
    )
    bus = Bus(cut_settings, name="through-proxy")
    await bus.connect()
    subscription = recording()
    try:
        await declare(bus, subscription)
        background(OutboxRelay(flow, bus, "flow_tests", cut_settings).run())
        background(Consumer(bus, flow, subscription, cut_settings).run())
        before = await emit_people(flow, [f"before {i}" for i in range(20)])
        await eventually(lambda: effects_of(flow, before), lambda found: len(found) == 20)

        await proxy.cut()
        during = await emit_people(flow, [f"during {i}" for i in range(30)])
        relay = OutboxRelay(flow, bus, "flow_tests", cut_settings)
        await relay.measure_backlog()
        assert BACKLOG.labels("flow_tests")._value.get() >= 30  # what the operator sees meanwhile
        # Each write committed while the broker was away; nothing could be published.
        assert (
            await flow.fetchval("SELECT count(*) FROM outbox WHERE event_id = ANY($1::uuid[])", during) == 30
        )
        assert await effects_of(flow, during) == []
        await proxy.restore()

        found = await eventually(
            lambda: effects_of(flow, before + during), lambda f: len(f) >= 50, timeout=60
        )
        assert sorted(found) == sorted(before + during)  # every event, none twice
        assert (
            await flow.fetchval(
                "SELECT count(*) FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL",
                during,
            )
            == 0
        )
    finally:
        await bus.close()
        await proxy.cut()


async def test_a_consumer_that_dies_before_its_ack_causes_no_second_effect(
    settings: Settings, bus: Bus, flow: asyncpg.Pool, background: Start
) -> None:
    subscription = recording()
    await declare(bus, subscription)

    class DiesBeforeAck(Consumer):
        async def _settle(self, deliveries: Any) -> None:
            raise SystemExit("killed after commit, before ack")

    events = await emit_people(flow, [f"redelivered {i}" for i in range(10)])
    background(OutboxRelay(flow, bus, "flow_tests", settings).run())
    doomed_bus = Bus(settings, name="doomed")
    await doomed_bus.connect()
    with pytest.raises(SystemExit):
        await DiesBeforeAck(doomed_bus, flow, subscription, settings).run()
    await doomed_bus.close()  # its unacknowledged messages go back to the queue
    committed = await effects_of(flow, events)
    assert committed  # the doomed consumer did commit effects before it died

    duplicates_before = CONSUMED.labels(QUEUE, "duplicate")._value.get()
    background(Consumer(bus, flow, subscription, settings).run())
    await eventually(lambda: effects_of(flow, events), lambda found: len(found) == 10)
    await eventually(
        _async(lambda: CONSUMED.labels(QUEUE, "duplicate")._value.get() - duplicates_before),
        lambda n: n >= len(committed),
    )
    assert sorted(await effects_of(flow, events)) == sorted(events)


def _async(f: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def probe() -> Any:
        return f()

    return probe


async def test_a_handler_that_always_fails_is_retried_then_parked_and_others_still_flow(
    settings: Settings, bus: Bus, flow: asyncpg.Pool, background: Start
) -> None:
    calls: list[str] = []
    subscription = recording(calls, fail_names=frozenset({"poison"}))
    await declare(bus, subscription)
    events = await emit_people(flow, ["a", "poison", "b", "c"])
    background(OutboxRelay(flow, bus, "flow_tests", settings).run())
    background(Consumer(bus, flow, subscription, settings).run())

    [message] = await parked(bus, QUEUE, 1)
    assert calls.count("poison") == 1 + len(settings.retry_delays_ms)
    assert message.message_id == str(events[1])
    headers = message.headers
    assert "RuntimeError: cannot handle poison" in str(headers["x-error"])
    assert headers["x-attempts"] == 1 + len(settings.retry_delays_ms)
    assert headers["x-consumer"] == QUEUE
    assert json.loads(message.body)["data"]["name"] == "poison"
    later = await emit_people(flow, ["after the poison"])
    found = await eventually(lambda: effects_of(flow, events + later), lambda f: len(f) == 4)
    assert events[1] not in found


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "not JSON"),
        (
            json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "type": "person.levitated",
                    "version": 1,
                    "producer": "x",
                    "occurred_at": "2026-11-23T00:00:00Z",
                    "data": {},
                }
            ).encode(),
            "unknown event type",
        ),
        (
            json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "type": "thing.happened",
                    "version": 1,
                    "producer": "x",
                    "occurred_at": "2026-11-23T00:00:00Z",
                    "data": {"name": 7},
                }
            ).encode(),
            "invalid thing.happened",
        ),
    ],
)
async def test_malformed_messages_are_parked_and_the_consumer_keeps_running(
    settings: Settings, bus: Bus, flow: asyncpg.Pool, background: Start, body: bytes, error: str
) -> None:
    subscription = recording()
    await declare(bus, subscription)
    await bus.publish("thing.happened", body, message_id="malformed")
    background(Consumer(bus, flow, subscription, settings).run())
    background(OutboxRelay(flow, bus, "flow_tests", settings).run())

    [message] = await parked(bus, QUEUE, 1)
    assert error in str(message.headers["x-error"])
    assert message.headers["x-attempts"] == 0  # never retried: it can never succeed
    assert message.body == body
    events = await emit_people(flow, ["still served"])
    await eventually(lambda: effects_of(flow, events), lambda found: len(found) == 1)


async def test_two_relays_at_once_publish_every_event_exactly_once(
    settings: Settings, bus: Bus, flow: asyncpg.Pool, background: Start
) -> None:
    channel = await bus.channel()
    tap = await channel.declare_queue(
        f"{settings.bus_prefix}tests.tap", durable=True, arguments={"x-queue-type": "quorum"}
    )
    exchange = await channel.get_exchange(bus.exchange_name)
    await tap.bind(exchange, routing_key="#")
    ids: list[str] = []
    for batch in range(8):
        ids += [str(i) for i in await emit_people(flow, [f"r{batch}-{i}" for i in range(50)])]
    relay_settings = settings.model_copy(update={"relay_batch": 20})
    relay_buses = [Bus(settings, name=f"relay {n}") for n in range(2)]
    for relay_bus in relay_buses:
        await relay_bus.connect()
        background(OutboxRelay(flow, relay_bus, "flow_tests", relay_settings).run())

    seen: list[str] = []

    async def drain() -> int:
        while (message := await tap.get(fail=False, no_ack=True)) is not None:
            seen.append(str(message.message_id))
        return len(set(seen) & set(ids))

    await eventually(drain, lambda n: n == len(ids), timeout=60)
    assert (
        await flow.fetchval(
            "SELECT count(*) FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL", ids
        )
        == 0
    )
    await drain()
    assert sorted(seen) == sorted(ids)
    for relay_bus in relay_buses:
        await relay_bus.close()


async def test_a_message_that_fails_its_batch_at_commit_is_parked_alone(
    settings: Settings, bus: Bus, flow: asyncpg.Pool, background: Start
) -> None:
    subscription = recording()
    await declare(bus, subscription)
    events = await emit_people(flow, ["first", "breaks at commit", "third"])
    background(OutboxRelay(flow, bus, "flow_tests", settings).run())
    background(Consumer(bus, flow, subscription, settings).run())

    [message] = await parked(bus, QUEUE, 1)
    assert message.message_id == str(events[1])
    assert "deferred_once_unique" in str(message.headers["x-error"])
    found = await eventually(lambda: effects_of(flow, events), lambda f: len(f) == 2)
    assert sorted(found) == sorted([events[0], events[2]])


async def test_parked_messages_can_be_read_and_replayed_once_the_cause_is_fixed(
    settings: Settings, bus: Bus, flow: asyncpg.Pool, background: Start
) -> None:
    broken = {"fixed later"}
    calls: list[str] = []

    async def record(event: ThingHappened, conn: asyncpg.Connection, envelope: Envelope) -> None:
        calls.append(event.name)
        if event.name in broken:
            raise RuntimeError("the handler has a bug")
        await conn.execute(
            "INSERT INTO effects (event_id, person_id) VALUES ($1, $2)", envelope.id, event.thing_id
        )

    subscription = Subscription(QUEUE, {ThingHappened: record})
    await declare(bus, subscription)
    events = await emit_people(flow, ["fixed later", "fine"])
    background(OutboxRelay(flow, bus, "flow_tests", settings).run())
    background(Consumer(bus, flow, subscription, settings).run())
    await eventually(lambda: effects_of(flow, events), lambda f: len(f) == 1)

    listed = await eventually(lambda: list_parked(bus, QUEUE), lambda parked: len(parked) == 1)
    assert listed[0].message_id == str(events[0])
    assert "the handler has a bug" in listed[0].error
    assert listed[0].attempts == 1 + len(settings.retry_delays_ms)
    assert len(await list_parked(bus, QUEUE)) == 1  # reading does not remove

    broken.clear()  # the fix is deployed
    assert await replay_parked(bus, QUEUE) == 1
    await eventually(lambda: effects_of(flow, events), lambda f: len(f) == 2)
    assert await list_parked(bus, QUEUE) == []


async def test_the_relay_is_woken_by_notify_and_also_finds_rows_by_polling(
    settings: Settings, bus: Bus, flow: asyncpg.Pool, background: Start
) -> None:
    subscription = recording()
    await declare(bus, subscription)
    background(Consumer(bus, flow, subscription, settings).run())

    # Polling once an hour: only the NOTIFY sent at commit can make this prompt.
    sleepy = OutboxRelay(flow, bus, "flow_tests", settings.model_copy(update={"relay_poll_s": 3600}))
    background(sleepy.run())
    await eventually(
        lambda: flow.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"), lambda n: n == 0
    )
    notified = await emit_people(flow, ["woken by notify"])
    await eventually(lambda: effects_of(flow, notified), lambda f: len(f) == 1, timeout=20)

    # A row written without any NOTIFY (a hint lost) is still found by a polling relay.
    unannounced = Envelope.wrap(person("found by polling"), producer="tests")
    await flow.execute(
        "INSERT INTO outbox (event_id, routing_key, payload) VALUES ($1, $2, $3::text::jsonb)",
        unannounced.id,
        unannounced.type,
        unannounced.model_dump_json(),
    )
    background(OutboxRelay(flow, bus, "flow_tests", settings).run())
    await eventually(lambda: effects_of(flow, [unannounced.id]), lambda f: len(f) == 1, timeout=20)


async def test_retention_deletes_only_what_is_published_or_handled_and_old(
    settings: Settings, flow: asyncpg.Pool
) -> None:
    days = timedelta(days=1)
    events = [Envelope.wrap(person(f"retention {i}"), producer="tests") for i in range(4)]
    published_ago = [8 * days, days / 24, None, None]  # the third is old but never published
    for envelope, ago in zip(events, published_ago, strict=True):
        await flow.execute(
            """INSERT INTO outbox (event_id, routing_key, payload, created_at, published_at)
               VALUES ($1, $2, $3::text::jsonb, now() - $4::interval, now() - $5::interval)""",
            envelope.id,
            envelope.type,
            envelope.model_dump_json(),
            9 * days,
            ago,
        )
    for envelope, ago in ((events[0], 31 * days), (events[1], 29 * days)):
        await flow.execute(
            """INSERT INTO inbox (consumer, event_id, event_type, handled_at)
               VALUES ('retention', $1, 'x', now() - $2::interval)""",
            envelope.id,
            ago,
        )

    await purge_once(flow, settings)

    remaining = await flow.fetch(
        "SELECT event_id FROM outbox WHERE event_id = ANY($1::uuid[])", [e.id for e in events]
    )
    # Unpublished rows are never deleted, however old.
    assert {r["event_id"] for r in remaining} == {e.id for e in events[1:]}
    kept = await flow.fetch("SELECT event_id FROM inbox WHERE consumer = 'retention'")
    assert [r["event_id"] for r in kept] == [events[1].id]
