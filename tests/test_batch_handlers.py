"""Handlers that apply a run of events set-based (``BatchHandler``): the consumer hands each run
of consecutive events whole and in order, a failing or swallowing run falls back to one event at
a time so only the event at fault fails, and the services' set-based handlers leave exactly the
rows their events applied one by one would."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import hypothesis
import pytest
from hypothesis import strategies as st

from services.notifications.handlers import PEOPLE as NOTIFICATIONS
from services.surveys.handlers import PEOPLE as SURVEYS
from shared.bus import Bus
from shared.consumer import BatchHandler, Consumer, Subscription
from shared.contracts import EVENT_TYPES, Envelope, PersonRegistered
from shared.migrations import Migration
from shared.outbox import OutboxRelay, emit
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.events import ThingHappened
from tests.support.plumbing import plumbing_pool, thing_contract  # noqa: F401 (fixture)
from tests.support.waiting import eventually

Start = Callable[[Awaitable[None]], Any]
QUEUE = "batches.things"
SCHEMA = "batch_handler_tests"

TABLES = Migration(
    "0001_effects.sql",
    """-- No uniqueness on purpose: an event applied twice shows as two rows; n keeps their order.
       CREATE TABLE effects (
           n bigserial, event_id uuid NOT NULL, name text NOT NULL CHECK (name <> 'bad'));""",
)


class Retired(ThingHappened):
    type = "thing.retired"


@pytest.fixture(autouse=True)
def retired_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EVENT_TYPES, (Retired.type, Retired.version), Retired)


@pytest.fixture(scope="module")
async def pool(run_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    async for pool in plumbing_pool(run_settings, SCHEMA, TABLES):
        yield pool


async def write_effects(conn: Any, events: Sequence[tuple[ThingHappened, Envelope]]) -> None:
    await conn.execute(
        "INSERT INTO effects (event_id, name) SELECT * FROM unnest($1::uuid[], $2::text[])",
        [envelope.id for _, envelope in events],
        [event.name for event, _ in events],
    )


async def published_in_one_batch(
    pool: asyncpg.Pool, bus: Bus, settings: Settings, subscription: Subscription, events: list[ThingHappened]
) -> dict[str, uuid.UUID]:
    """Emit and publish the events before any consumer runs, so they arrive in one batch."""
    await declare_topology(bus, [subscription])
    async with pool.acquire() as conn, conn.transaction():
        envelopes = await emit(conn, events, producer="tests")
    await OutboxRelay(pool, bus, SCHEMA, settings).publish_batch()
    return {event.name: envelope.id for event, envelope in zip(events, envelopes, strict=True)}


async def effects(pool: asyncpg.Pool, ids: dict[str, uuid.UUID]) -> list[str]:
    rows = await pool.fetch(
        "SELECT name FROM effects WHERE event_id = ANY($1::uuid[]) ORDER BY n", list(ids.values())
    )
    return [r["name"] for r in rows]


def things(*names: str, kind: type[ThingHappened] = ThingHappened) -> list[ThingHappened]:
    return [kind(thing_id=uuid.uuid4(), name=name) for name in names]


async def test_each_run_of_consecutive_events_reaches_its_batch_handler_whole_and_in_order(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    calls: list[list[str]] = []

    async def many(conn: Any, events: Sequence[tuple[ThingHappened, Envelope]]) -> None:
        calls.append([event.name for event, _ in events])
        await write_effects(conn, events)

    async def one(event: Retired, conn: Any, envelope: Envelope) -> None:
        calls.append([event.name])
        await write_effects(conn, [(event, envelope)])

    subscription = Subscription(QUEUE, {ThingHappened: BatchHandler(many), Retired: one})
    events = [*things("a1", "a2"), *things("r1", "r2", kind=Retired), *things("a3", "a4", "a5")]
    ids = await published_in_one_batch(pool, bus, settings, subscription, events)
    background(Consumer(bus, pool, subscription, settings).run())

    order = ["a1", "a2", "r1", "r2", "a3", "a4", "a5"]
    assert await eventually(lambda: effects(pool, ids), lambda found: len(found) == len(order)) == order
    # A plain handler takes its events one at a time, and each one ends the run before it.
    assert calls == [["a1", "a2"], ["r1"], ["r2"], ["a3", "a4", "a5"]]


async def test_a_failing_event_in_a_run_fails_alone_and_the_others_apply_once(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    subscription = Subscription(QUEUE, {ThingHappened: BatchHandler(write_effects)})
    await fails_alone(settings, bus, pool, background, subscription, "bad", "CheckViolationError")


async def test_a_batch_handler_that_swallows_a_database_error_is_not_taken_for_done(
    settings: Settings, bus: Bus, pool: asyncpg.Pool, background: Start
) -> None:
    async def swallowing(conn: Any, events: Sequence[tuple[ThingHappened, Envelope]]) -> None:
        if any(event.name == "swallows" for event, _ in events):
            # The bug: the error is caught and the run returns as if done, its transaction aborted.
            with contextlib.suppress(asyncpg.DivisionByZeroError):
                await conn.execute("SELECT 1 / 0")
            return
        await write_effects(conn, events)

    subscription = Subscription(QUEUE, {ThingHappened: BatchHandler(swallowing)})
    await fails_alone(settings, bus, pool, background, subscription, "swallows", "aborted")


async def fails_alone(
    settings: Settings,
    bus: Bus,
    pool: asyncpg.Pool,
    background: Start,
    subscription: Subscription,
    culprit: str,
    error: str,
) -> None:
    """Between "a" and "b" in one batch, ``culprit`` is retried, then parked with ``error``,
    and "a" and "b" are applied once each."""
    ids = await published_in_one_batch(pool, bus, settings, subscription, things("a", culprit, "b"))
    background(Consumer(bus, pool, subscription, settings).run())

    [message] = await parked(bus)
    assert message.message_id == str(ids[culprit])
    assert error in str(message.headers["x-error"])
    assert message.headers["x-attempts"] == 1 + len(settings.retry_delays_ms)
    assert await effects(pool, ids) == ["a", "b"]


async def parked(bus: Bus) -> list[Any]:
    found: list[Any] = []

    async def take() -> int:
        channel = await bus.channel()
        queue = await channel.get_queue(bus.queue_names(QUEUE).dlq)
        while (message := await queue.get(fail=False)) is not None:
            await message.ack()
            found.append(message)
        await channel.close()
        return len(found)

    await eventually(take, lambda n: n >= 1, timeout=30)
    return found


# The services' own set-based handlers ------------------------------------------------------------

_PEOPLE = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # which of four people: some appear twice
        st.sampled_from(["en", "es"]),
        st.sampled_from([None, "10013", "97214"]),
    ),
    min_size=1,
    max_size=8,
)
_STATE = {
    "surveys": [
        "SELECT person_id, language, postal_code, registered_at FROM respondents ORDER BY 1",
        "SELECT postal_code, language, respondents FROM respondent_tallies ORDER BY 1, 2",
    ],
    "notifications": ["SELECT person_id, language FROM contact_points ORDER BY 1"],
}


async def _outcome(conn: asyncpg.Connection, schema: str, apply: Callable[[], Awaitable[None]]) -> Any:
    """The tables after ``apply`` (or the error it raised), then rolled back."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(f"SET LOCAL search_path = {schema}")
        try:
            async with conn.transaction():
                await apply()
        except asyncpg.PostgresError as exc:
            return type(exc)
        return [[tuple(r) for r in await conn.fetch(sql)] for sql in _STATE[schema]]
    finally:
        await transaction.rollback()


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(people=_PEOPLE, schema=st.sampled_from(["surveys", "notifications"]))
def test_the_services_set_based_handlers_leave_what_one_event_at_a_time_would(
    run_settings: Settings, people: list[tuple[int, str, str | None]], schema: str
) -> None:
    ids = [uuid.uuid4() for _ in range(4)]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        (
            event := PersonRegistered(
                person_id=ids[i], language=language, postal_code=postal_code, registered_at=at
            ),
            Envelope.wrap(event, producer="tests"),
        )
        for i, language, postal_code in people
    ]
    handler = (SURVEYS if schema == "surveys" else NOTIFICATIONS).handlers[PersonRegistered]
    assert isinstance(handler, BatchHandler)

    async def compare() -> None:
        conn = await asyncpg.connect(run_settings.database_url)
        try:

            async def one_by_one() -> None:
                for event, envelope in events:
                    await handler(event, conn, envelope)

            sequential = await _outcome(conn, schema, one_by_one)
            together = await _outcome(conn, schema, lambda: handler.apply(conn, events))
        finally:
            await conn.close()
        # Either the same rows, or an error: the consumer then applies them one at a time.
        assert together == sequential or isinstance(together, type)
        if len({i for i, _, _ in people}) == len(people):
            assert together == sequential

    asyncio.run(compare())
