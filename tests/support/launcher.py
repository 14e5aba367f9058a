"""Starting the platform as `make run` does, in a subprocess with settings of a test's own."""

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aio_pika
import asyncpg

from deploy.stack import SERVICES
from shared.bus import Bus
from shared.db import drop_database
from shared.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(settings: Settings, run_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    for name, value in settings.model_dump().items():
        env[f"CIVIC_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    env["CIVIC_RETRY_DELAYS_MS"] = str(settings.retry_delays_ms)
    env["CIVIC_RUN_DIR"] = str(run_dir)
    return env


async def read_until(
    stream: asyncio.StreamReader, pattern: str, seen: list[str], timeout: float = 120
) -> str:
    async with asyncio.timeout(timeout):
        while line := (await stream.readline()).decode():
            seen.append(line)
            if re.search(pattern, line):
                return line
    raise AssertionError(f"launcher ended before printing {pattern!r}:\n{''.join(seen)}")


# Every platform a test started, with its settings. `make run` declares every consumer's queues
# itself (five per consumer, some 70 in all), which the recording of a test's own declarations
# (tests/conftest.py) does not see: they are deleted once the platform has stopped.
LAUNCHED: list[tuple[Settings, asyncio.subprocess.Process]] = []


async def start_platform(settings: Settings, run_dir: Path, *args: str) -> asyncio.subprocess.Process:
    """``python -m deploy.run`` with ``settings``; its output (stdout and stderr) is piped."""
    launcher = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "deploy.run",
        *args,
        env=environment(settings, run_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    LAUNCHED.append((settings, launcher))
    return launcher


async def delete_queues_of_stopped_platforms() -> None:
    """The queues of every platform started by a test that has stopped since."""
    stopped = [entry for entry in LAUNCHED if entry[1].returncode is not None]
    for entry in stopped:
        LAUNCHED.remove(entry)
        settings = entry[0]
        bus = Bus(settings)
        names = [bus.unrouted_queue]
        for spec in SERVICES:
            for subscription in spec.subscriptions:
                queues = bus.queue_names(subscription.consumer)
                names += [queues.main, queues.dlq, *(queues.delay(n) for n in range(len(queues.delays_ms)))]
        with contextlib.suppress(aio_pika.exceptions.AMQPConnectionError, OSError):
            connection = await aio_pika.connect(settings.rabbitmq_url)
            async with connection:
                channel = await connection.channel()
                for name in names:
                    await channel.queue_delete(name)


@contextlib.asynccontextmanager
async def serving(
    run_settings: Settings, run_dir: Path, seed: Callable[[asyncpg.Connection], Awaitable[None]]
) -> AsyncIterator[str]:
    """The platform without demo data, on a database, bus prefix and ports of its own, with
    ``seed`` written into engagement's schema once it is up; its address. Stopped and its
    database dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    settings = run_settings.with_database(f"civic_platform_{tag}").model_copy(
        update={
            "bus_prefix": f"platform{tag}.",
            **{
                f"{name}_port": free_port()
                for name in ("proxy", "engagement", "surveys", "notifications", "smtp")
            },
        }
    )
    launcher = await start_platform(settings, run_dir, "--no-demo")
    assert launcher.stdout is not None
    try:
        line = await read_until(launcher.stdout, r"Open http://", [])
        conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": "engagement"})
        try:
            await seed(conn)
        finally:
            await conn.close()
        yield line.split("Open ", 1)[1].strip().rstrip("/")
    finally:
        if launcher.returncode is None:
            launcher.send_signal(signal.SIGINT)
        await asyncio.wait_for(launcher.stdout.read(), timeout=60)
        await launcher.wait()
        await drop_database(settings.migration_database_url)
