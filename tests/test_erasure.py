"""Erasing a person reaches what the bus holds: outbox rows and parked or unrouted messages."""

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.bus import Bus
from shared.contracts import Envelope
from shared.erasure import erase_from_outbox, erase_from_queue
from shared.outbox import emit
from shared.parked import list_unrouted
from shared.settings import Settings
from tests.support.events import ThingHappened
from tests.support.plumbing import plumbing_pool, thing_contract  # noqa: F401 (fixture)
from tests.support.waiting import eventually


@pytest.fixture(scope="module")
async def pool(run_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    async for pool in plumbing_pool(run_settings, "erasure_tests"):
        yield pool


def about(aggregate: str | None) -> Envelope:
    return Envelope.wrap(
        ThingHappened(thing_id=uuid.uuid4(), name="Ana"), producer="tests", aggregate=aggregate
    )


async def test_erasure_deletes_the_aggregates_outbox_rows_and_no_others(pool: asyncpg.Pool) -> None:
    erased, kept = f"person:{uuid.uuid4()}", f"person:{uuid.uuid4()}"
    async with pool.acquire() as conn, conn.transaction():
        await emit(
            conn, [ThingHappened(thing_id=uuid.uuid4(), name="Ana")] * 2, producer="t", aggregate=erased
        )
        await emit(conn, ThingHappened(thing_id=uuid.uuid4(), name="Bo"), producer="t", aggregate=kept)
    await pool.execute(
        "UPDATE outbox SET published_at = now() WHERE id = (SELECT min(id) FROM outbox WHERE aggregate = $1)",
        erased,
    )

    async with pool.acquire() as conn:
        assert await erase_from_outbox(conn, erased) == 2  # published or not
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE aggregate = $1", erased) == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE aggregate = $1", kept) == 1


async def test_erasure_drops_the_aggregates_messages_at_rest_and_keeps_the_rest(bus: Bus) -> None:
    erased = f"person:{uuid.uuid4()}"
    messages = [about(erased), about(f"person:{uuid.uuid4()}"), about(None), about(erased)]
    for envelope in messages:
        await bus.publish("thing.unbound", envelope.model_dump_json().encode(), message_id=str(envelope.id))
    await bus.publish("thing.unbound", b"[" * 1000, message_id="not json")
    await eventually(lambda: list_unrouted(bus), lambda found: len(found) == 5)

    assert await erase_from_queue(bus, bus.unrouted_queue, erased) == 2
    left = {m.message_id for m in await list_unrouted(bus)}
    assert left == {str(messages[1].id), str(messages[2].id), "not json"}


async def test_the_operator_erases_from_every_parked_place_with_one_command(
    settings: Settings, bus: Bus
) -> None:
    erased = f"person:{uuid.uuid4()}"
    kept = about(None)
    for envelope in (about(erased), kept):
        await bus.publish("thing.unbound", envelope.model_dump_json().encode(), message_id=str(envelope.id))
    await eventually(lambda: list_unrouted(bus), lambda found: len(found) == 2)

    env = {**os.environ, "CIVIC_RABBITMQ_URL": settings.rabbitmq_url, "CIVIC_BUS_PREFIX": settings.bus_prefix}
    done = subprocess.run(
        [sys.executable, "-m", "deploy.parked", "erase", erased],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"{bus.unrouted_queue}: erased 1 message(s)" in done.stdout
    assert "not declared on this broker yet" in done.stderr  # no consumer queues in this test's prefix
    assert [m.message_id for m in await list_unrouted(bus)] == [str(kept.id)]
