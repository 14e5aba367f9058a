"""Every run gets its own PostgreSQL database and RabbitMQ vhost; every test its own queue names."""

import asyncio
import contextlib
import itertools
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import quote, unquote, urlsplit

import aio_pika
import aio_pika.channel
import asyncpg
import pytest

from deploy.stack import SERVICES
from shared.bus import Bus
from shared.db import create_pool, drop_database, ensure_database
from shared.runtime import apply_migrations
from shared.settings import Settings, get_settings
from tests.support.launcher import delete_queues_of_stopped_platforms
from tests.support.leaks import leaked

RUN_ID = uuid.uuid4().hex[:10]
_test_numbers = itertools.count()
_session_loop: list[asyncio.AbstractEventLoop] = []


@pytest.fixture(scope="session", autouse=True)
async def session_loop() -> None:
    """The loop every test shares, kept for the check between modules below."""
    _session_loop.append(asyncio.get_running_loop())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    if not _session_loop or (nextitem is not None and nextitem.module is item.module):
        return
    left = leaked(_session_loop[0])
    for task, _ in left:
        task.cancel()  # so that the next module starts clean
    assert not left, f"background loops outlived {item.module.__name__}: {sorted(n for _, n in left)}"


def _rabbitmqctl(*args: str) -> None:
    try:
        done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, timeout=60, check=False)
        problem = done.stderr.decode(errors="replace").strip() if done.returncode else ""
    except OSError as exc:
        problem = str(exc)
    if problem:
        pytest.exit(
            f"rabbitmqctl {' '.join(args)} failed: {problem}\n"
            "The tests make a RabbitMQ vhost per run, which needs root. Either run the tests as root, "
            "or make a vhost of your own once and point the tests at it:\n"
            "    sudo rabbitmqctl add_vhost civic-dev\n"
            "    sudo rabbitmqctl set_permissions -p civic-dev guest '.*' '.*' '.*'\n"
            "    export CIVIC_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/civic-dev",
            returncode=2,
        )


@pytest.fixture(scope="session")
def vhost() -> Iterator[str]:
    """A vhost of the run's own; or the one CIVIC_RABBITMQ_URL names, when it names one (a
    developer without root): every test still has queue names of its own (``settings``)."""
    configured = urlsplit(get_settings().rabbitmq_url).path.lstrip("/")
    if configured:
        yield unquote(configured)
        return
    name = f"civic-test-{RUN_ID}"
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield name
    _rabbitmqctl("delete_vhost", name)


@pytest.fixture(scope="session")
async def run_settings(vhost: str) -> AsyncIterator[Settings]:
    """A database of the run's own, migrated by the owner role; everything else in the tests
    connects as the serving role (``database_url``), as the services do."""
    base = get_settings()
    settings = base.with_database(f"civic_test_{RUN_ID}").model_copy(
        update={
            "rabbitmq_url": urlsplit(base.rabbitmq_url)._replace(path=f"/{quote(vhost, safe='')}").geturl(),
            "retry_delays_ms": [50, 150],
            "pool_min_size": 1,
            "pool_max_size": 3,
            "relay_poll_s": 0.2,
            "publish_timeout_s": 3.0,
            "log_json": False,
        }
    )
    await ensure_database(settings.migration_database_url)
    for spec in SERVICES:
        await apply_migrations(spec, settings)
    yield settings
    await drop_database(settings.migration_database_url)


@pytest.fixture
def settings(run_settings: Settings) -> Settings:
    """The run's settings with a bus prefix of this test's own: queues never shared between tests."""
    return run_settings.model_copy(update={"bus_prefix": f"t{next(_test_numbers)}."})


@pytest.fixture(autouse=True)
async def _delete_the_tests_queues(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Delete every queue a test declared once it ends. A quorum queue keeps about three of the
    broker's file handles: with RabbitMQ's usual limit (927 handles at ulimit 1024) some 300
    queues left behind by earlier tests stop the broker answering any new connection."""
    declared: dict[str, set[str]] = {}  # broker URL -> queue names
    declare = aio_pika.channel.Channel.declare_queue

    async def recording(self: aio_pika.channel.Channel, name: str | None = None, **kwargs: object) -> object:
        queue = await declare(self, name, **kwargs)  # type: ignore[arg-type]
        url = str(self._connection.url)  # type: ignore[attr-defined]  # a Connection, which has one
        declared.setdefault(url, set()).add(queue.name)
        return queue

    monkeypatch.setattr(aio_pika.channel.Channel, "declare_queue", recording)
    yield
    monkeypatch.undo()
    for url, names in declared.items():
        with contextlib.suppress(aio_pika.exceptions.AMQPConnectionError, OSError):
            # A broker of the test's own may be gone by now, and its queues with it.
            connection = await aio_pika.connect(url)
            async with connection:
                channel = await connection.channel()
                for name in sorted(names):
                    await channel.queue_delete(name)
    await delete_queues_of_stopped_platforms()


@pytest.fixture
async def fresh_engagement(run_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """Engagement on a database of the test's own, migrated and empty: for a test that needs to
    know every row (the run's database holds whatever earlier tests and demo loads left)."""
    settings = run_settings.with_database(f"civic_test_{RUN_ID}_{next(_test_numbers)}")
    await ensure_database(settings.migration_database_url)
    [engagement] = [spec for spec in SERVICES if spec.name == "engagement"]
    await apply_migrations(engagement, settings)
    pool = await create_pool(settings, engagement.name)
    yield pool
    await pool.close()
    await drop_database(settings.migration_database_url)


@pytest.fixture(scope="session")
async def pools(run_settings: Settings) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    opened = {spec.name: await create_pool(run_settings, spec.name) for spec in SERVICES}
    yield opened
    for pool in opened.values():
        await pool.close()


@pytest.fixture
async def bus(settings: Settings) -> AsyncIterator[Bus]:
    connected = Bus(settings, name="test")
    await connected.connect()
    yield connected
    await connected.close()


@pytest.fixture
async def background() -> AsyncIterator[Callable[[Awaitable[None]], asyncio.Task[None]]]:
    """Start relays and consumers as tasks; all are cancelled when the test ends."""
    tasks: list[asyncio.Task[None]] = []

    def start(coro: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        tasks.append(task)
        return task

    yield start
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
