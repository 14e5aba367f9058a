"""The bus end to end: people registered through ``register_person`` (state change and outbox
row in one transaction) → engagement's relay → RabbitMQ → the surveys and notifications
consumers → inbox row and effect committed. The relay and consumers are the services' own
processes; the bench produces and watches the effects land in their tables."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.cpu import CpuMeter, broker_pids, postgres_backends
from bench.pacing import offer
from bench.processes import Child, Children, python_argv
from bench.producer import people, register, write_in_batches
from bench.sandbox import Sandbox
from shared.db import create_pool

# The three processes of the path, as `make run` would start them with one role each.
SERVICE_ROLES = (("engagement", "relay"), ("surveys", "consumer"), ("notifications", "consumer"))
POLL_S = 0.05
RSS_EVERY_S = 0.1
WARM_UP_EVENTS = 300

# Every table the load writes to, emptied before each phase so the phase's SQL figures cover
# only its own events and every run starts from tables of the same size.
_EMPTY = """TRUNCATE engagement.people, engagement.outbox, surveys.respondents,
                     surveys.respondent_tallies, surveys.inbox, notifications.contact_points,
                     notifications.inbox"""

# Per event: the outbox row, and the later of its two inbox rows (both consumers done). The
# timestamps are clock_timestamp() of the same server, taken at insert inside each transaction.
_LATENCY_SQL = """
WITH done AS (
    SELECT event_id, max(handled_at) AS at
    FROM (SELECT event_id, handled_at FROM surveys.inbox
          UNION ALL SELECT event_id, handled_at FROM notifications.inbox) AS handled
    GROUP BY event_id HAVING count(*) = 2),
latency AS (
    SELECT o.created_at, d.at, extract(epoch FROM d.at - o.created_at) * 1000 AS ms
    FROM engagement.outbox AS o JOIN done AS d USING (event_id))
SELECT count(*) AS events,
       extract(epoch FROM max(at) - min(created_at))::float8 AS seconds,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50_ms,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99_ms
FROM latency"""

_EFFECTS_SQL = """
SELECT (SELECT count(*) FROM surveys.respondents) AS surveys,
       (SELECT count(*) FROM notifications.contact_points) AS notifications,
       (SELECT coalesce(sum(respondents), 0) FROM surveys.respondent_tallies) AS tallied"""


@dataclass(frozen=True)
class BusResult:
    rate: float  # events per second, first outbox row to last effect
    p50_ms: float  # outbox row to the later of its two effects
    p99_ms: float
    produced_rate: float  # how fast the bench committed the registrations meanwhile
    cpu_s: dict[str, float]  # CPU seconds per party (bench.cpu)


class BusLoad:
    def __init__(
        self, box: Sandbox, children: Children, *, producers: int, txn_batch: int, timeout_s: float
    ) -> None:
        self.box = box
        self.children = children
        self.producers = producers
        self.txn_batch = txn_batch
        self.timeout_s = timeout_s
        self.services: list[Child] = []
        self._pool: asyncpg.Pool | None = None
        self._probe: asyncpg.Connection | None = None

    async def start(self, profile_dir: Path | None) -> None:
        self._pool = await create_pool(self.box.settings, "engagement", max_size=self.producers)
        self._probe = await self.box.connect()
        for name, role in SERVICE_ROLES:
            profile = profile_dir / f"{name}-{role}.txt" if profile_dir else None
            self.services.append(
                self.children.start(
                    name, python_argv(f"services.{name}", "run", "--roles", role, profile_to=profile)
                )
            )
        # Nothing measured until every process is up and has handled events once.
        await self.burst(WARM_UP_EVENTS)

    async def close(self) -> None:
        if self._probe is not None:
            await self._probe.close()
        if self._pool is not None:
            await self._pool.close()

    async def burst(self, count: int) -> BusResult:
        """Register ``count`` people as fast as the producers can, and wait for every effect."""
        batch = people(count)

        async def produce() -> None:
            assert self._pool is not None, "start() first"
            await write_in_batches(self._pool, batch, self.txn_batch, self.producers, register)

        return await self._measure(count, produce)

    async def paced(self, rate: float, seconds: float) -> BusResult:
        """Register people at ``rate`` a second, each batch of those due in one transaction."""
        count = max(1, int(rate * seconds))
        queue = iter(people(count))

        async def send(n: int) -> None:
            assert self._pool is not None, "start() first"
            async with self._pool.acquire() as conn:
                await register(conn, [next(queue) for _ in range(n)])

        return await self._measure(count, lambda: offer(count, rate, send))

    @contextlib.asynccontextmanager
    async def peak_rss(self) -> AsyncIterator[dict[str, int]]:
        """Sample each service's resident memory while the block runs; yields the peaks."""
        peaks = {c.name: c.rss() for c in self.services}

        async def sample() -> None:
            while True:
                for c in self.services:
                    peaks[c.name] = max(peaks[c.name], c.rss())
                await asyncio.sleep(RSS_EVERY_S)

        sampler = asyncio.create_task(sample())
        try:
            yield peaks
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler

    async def _measure(self, count: int, produce: Callable[[], Awaitable[None]]) -> BusResult:
        assert self._probe is not None, "start() first"
        await self._probe.execute(_EMPTY)
        meter = CpuMeter(
            {
                "bench (producer)": [os.getpid()],
                **{c.name: [c.process.pid] for c in self.services},
                "postgres (bench backends)": await postgres_backends(self._probe),
                "rabbitmq (whole broker)": broker_pids(self.box.settings.rabbitmq_url),
            }
        )
        meter.start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await produce()
        produced_rate = count / (loop.time() - started)
        await self._until_effects(count)
        cpu_s = meter.stop()
        row = await self._probe.fetchrow(_LATENCY_SQL)
        assert row is not None
        if row["events"] != count:
            raise RuntimeError(f"{row['events']} of {count} events reached both consumers")
        return BusResult(count / row["seconds"], row["p50_ms"], row["p99_ms"], produced_rate, cpu_s)

    async def _until_effects(self, count: int) -> None:
        """Poll the consumers' tables until every effect has landed, and check each landed once
        (the tally is incremented per event, so a second effect would show there)."""
        assert self._probe is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while True:
            row = await self._probe.fetchrow(_EFFECTS_SQL)
            assert row is not None
            if row["surveys"] >= count and row["notifications"] >= count:
                if not row["surveys"] == row["notifications"] == row["tallied"] == count:
                    raise RuntimeError(f"effects are not exactly once: {dict(row)} for {count} events")
                return
            self.children.check()
            if loop.time() > deadline:
                raise TimeoutError(
                    f"after {self.timeout_s:.0f} s only {dict(row)} of {count} effects have landed"
                )
            await asyncio.sleep(POLL_S)
