"""``bus_drain``, ``bus_cpu`` and ``e2e_latency``: the bus beside its floor (bench.floor_bus), doing
the same work in the same database and broker.

- drain: the outbox is filled with real ``person.registered`` envelopes (written by
  ``register_person``) while the relay is stopped (SIGSTOP); the clock starts when it is let go and
  stops at the last inbox row of the second consumer. The floor drains a copy of the same rows.
- CPU: every process of each path, every process of the PostgreSQL cluster serving the bench's
  database (its backends and the cluster's own: WAL writer, checkpointer...) and the whole broker.
- latency: rows written at a fixed rate (open loop) with the relay running; outbox row to the
  later of its two inbox rows, both timestamps from the database's clock.
"""

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from uuid import uuid4

import aio_pika
import asyncpg
import psutil

from bench.pacing import offer
from bench.processes import Child, Children, python_argv
from bench.producer import people, register, write_in_batches
from bench.sandbox import Sandbox
from services.engagement.people import PersonRegistration
from services.engagement.registration import PRODUCER
from shared.contracts import Envelope, PersonRegistered
from shared.db import create_pool

POLL_S = 0.05
SERVICE = "service"
FLOOR = "floor"

_FLOOR_TABLES = """
    CREATE SCHEMA bench_floor;
    CREATE TABLE bench_floor.outbox (LIKE engagement.outbox INCLUDING ALL);
    CREATE TABLE bench_floor.inbox_surveys (LIKE surveys.inbox INCLUDING ALL);
    CREATE TABLE bench_floor.inbox_notifications (LIKE notifications.inbox INCLUDING ALL);
    CREATE TABLE bench_floor.respondents (LIKE surveys.respondents INCLUDING ALL);
    CREATE TABLE bench_floor.respondent_tallies (LIKE surveys.respondent_tallies INCLUDING ALL);
    CREATE TABLE bench_floor.contact_points (LIKE notifications.contact_points INCLUDING ALL)"""


@dataclass(frozen=True)
class Tables:
    outbox: str
    inboxes: tuple[str, str]
    empty: str
    notify: str


TABLES = {
    SERVICE: Tables("engagement.outbox", ("surveys.inbox", "notifications.inbox"),
                    """TRUNCATE engagement.people, engagement.outbox, engagement.aggregate_sequences,
                       surveys.respondents,
                       surveys.respondent_tallies, surveys.inbox, notifications.contact_points,
                       notifications.inbox CASCADE""", "engagement_outbox"),
    FLOOR: Tables("bench_floor.outbox", ("bench_floor.inbox_surveys", "bench_floor.inbox_notifications"),
                  """TRUNCATE bench_floor.outbox, bench_floor.inbox_surveys, bench_floor.inbox_notifications,
                     bench_floor.respondents, bench_floor.respondent_tallies, bench_floor.contact_points""",
                  "bench_floor_outbox"),
}


def _latency_sql(t: Tables) -> str:
    # Table names from TABLES above, never from input.
    return f"""
        WITH done AS (
            SELECT event_id, max(handled_at) AS at
            FROM (SELECT event_id, handled_at FROM {t.inboxes[0]}
                  UNION ALL SELECT event_id, handled_at FROM {t.inboxes[1]}) AS handled
            GROUP BY event_id HAVING count(*) = 2)
        SELECT count(*) AS events, max(d.at) AS last_at,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.at - o.created_at) * 1000)
                   AS p50_ms,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.at - o.created_at) * 1000)
                   AS p99_ms
        FROM {t.outbox} AS o JOIN done AS d USING (event_id)"""  # noqa: S608


@dataclass(frozen=True)
class PathResult:
    rate: float  # events per second to both consumers' effects
    p50_ms: float
    p99_ms: float
    cpu_ms: dict[str, float]  # CPU milliseconds per event, per party


class Paths:
    """Both paths' processes, started once; each phase runs one path at a time."""

    def __init__(self, box: Sandbox, children: Children, timeout_s: float) -> None:
        self.box = box
        self.children = children
        self.timeout_s = timeout_s
        self.processes: dict[str, dict[str, Child]] = {}
        self._probe: asyncpg.Connection | None = None
        self._pool: asyncpg.Pool | None = None

    @property
    def exchange(self) -> str:
        return self.box.floor_exchange

    def floor_queue(self, kind: str) -> str:
        return f"{self.box.floor_exchange}.{kind}"

    async def start(self) -> None:
        s = self.box.settings
        owner = await self.box.connect(owner=True)
        try:
            await owner.execute(_FLOOR_TABLES)
        finally:
            await owner.close()
        connection = await aio_pika.connect(s.rabbitmq_url)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                self.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
            for kind in ("surveys", "notifications"):
                queue = await channel.declare_queue(self.floor_queue(kind), durable=True,
                                                    arguments={"x-queue-type": "quorum"})
                await queue.bind(exchange, "person.registered")
        finally:
            await connection.close()
        # Keyed as the floor's processes are: the relay, and each consumer by its service.
        self.processes[SERVICE] = {
            key: self.children.start(f"{service}-{role}",
                                     python_argv(f"services.{service}", "run", "--roles", role))
            for key, service, role in (("relay", "engagement", "relay"), ("surveys", "surveys", "consumer"),
                                       ("notifications", "notifications", "consumer"))
        }
        floor_args = ["--database-url", s.migration_database_url, "--amqp-url", s.rabbitmq_url]
        self.processes[FLOOR] = {
            "relay": self.children.start(
                "floor-relay",
                python_argv("bench.floor_bus", "relay", *floor_args, "--exchange", self.exchange)),
            **{kind: self.children.start(
                f"floor-{kind}",
                python_argv("bench.floor_bus", kind, *floor_args, "--queue", self.floor_queue(kind)))
               for kind in ("surveys", "notifications")},
        }
        self._probe = await self.box.connect(owner=True)
        self._pool = await create_pool(s, "engagement", max_size=2)
        # Nothing measured until every process is up and has moved events once.
        for path in (SERVICE, FLOOR):
            await self.drain(path, 200)

    async def close(self) -> None:
        if self._probe is not None:
            await self._probe.close()
        if self._pool is not None:
            await self._pool.close()

    def pids(self, path: str) -> dict[str, int]:
        return {role: child.process.pid for role, child in self.processes[path].items()}

    async def drain(self, path: str, count: int) -> PathResult:
        """Fill the outbox with ``count`` events while the relay is stopped, then time the drain."""
        relay = self.processes[path]["relay"].process.pid
        os.kill(relay, signal.SIGSTOP)
        try:
            await self._fill(path, count)
        except BaseException:
            os.kill(relay, signal.SIGCONT)
            raise

        async def let_go() -> None:
            os.kill(relay, signal.SIGCONT)

        return await self._measure(path, count, let_go)

    async def paced(self, path: str, rate: float, seconds: float) -> PathResult:
        """Events written at ``rate`` a second, the relay running."""
        count = max(1, int(rate * seconds))
        await self._empty(path)
        batch = iter(people(count))

        async def send(n: int) -> None:
            assert self._pool is not None
            due = [next(batch) for _ in range(n)]
            if path == SERVICE:
                async with self._pool.acquire() as conn:
                    await register(conn, due)
            else:
                await self._write_floor(due)

        return await self._measure(path, count, lambda: offer(count, rate, send))

    async def _empty(self, path: str) -> None:
        assert self._probe is not None
        await self._probe.execute(TABLES[SERVICE].empty)
        if path == FLOOR:
            await self._probe.execute(TABLES[FLOOR].empty)

    async def _fill(self, path: str, count: int) -> None:
        assert self._pool is not None
        await self._empty(path)
        batch = people(count)
        if path == SERVICE:
            await write_in_batches(self._pool, batch, 100, 2, register)
        else:
            for start in range(0, count, 100):
                await self._write_floor(batch[start : start + 100])

    async def _write_floor(self, batch: Sequence[PersonRegistration]) -> None:
        """The envelopes register_person would write for these people, in the floor's outbox."""
        assert self._probe is not None
        envelopes = []
        for p in batch:
            person_id = uuid4()
            event = PersonRegistered(person_id=person_id, language=p.language, postal_code=p.postal_code,
                                     registered_at=datetime.now(UTC))
            envelopes.append(
                Envelope.wrap(event, producer=PRODUCER, aggregate=f"person:{person_id}", sequence=1))
        await self._probe.execute(
            """WITH written AS (
                   INSERT INTO bench_floor.outbox (event_id, routing_key, payload, aggregate)
                   SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]::jsonb[], $4::text[]))
               SELECT pg_notify('bench_floor_outbox', '')""",
            [e.id for e in envelopes], [e.type for e in envelopes], [e.model_dump_json() for e in envelopes],
            [e.aggregate for e in envelopes])

    async def _measure(self, path: str, count: int, produce: Callable[[], Awaitable[None]]) -> PathResult:
        assert self._probe is not None
        t = TABLES[path]
        meter = CpuMeter({**{f"{path} {role}": [pid] for role, pid in self.pids(path).items()},
                          BROKER: listening_pids(urlsplit(self.box.settings.rabbitmq_url).port or 5672)},
                         self.box.database, urlsplit(self.box.settings.database_url).port or 5432)
        meter.start()
        started_at = await self._probe.fetchval("SELECT clock_timestamp()")
        await produce()
        await self._until_done(t, count)
        cpu_s = meter.stop()
        row = await self._probe.fetchrow(_latency_sql(t))
        assert row is not None
        if row["events"] != count:
            raise RuntimeError(f"{path}: {row['events']} of {count} events reached both consumers")
        seconds = (row["last_at"] - started_at).total_seconds()
        return PathResult(count / seconds, row["p50_ms"], row["p99_ms"],
                          {party: s * 1000 / count for party, s in cpu_s.items()})

    async def _until_done(self, t: Tables, count: int) -> None:
        assert self._probe is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        sql = f"SELECT (SELECT count(*) FROM {t.inboxes[0]}) + (SELECT count(*) FROM {t.inboxes[1]})"  # noqa: S608
        while (done := await self._probe.fetchval(sql)) < 2 * count:
            self.children.check()
            if loop.time() > deadline:
                raise TimeoutError(f"after {self.timeout_s:.0f} s only {done} of {2 * count} inbox rows")
            await asyncio.sleep(POLL_S)


POSTGRES = "postgresql (cluster)"
BROKER = "rabbitmq (whole broker)"


def listening_pids(port: int) -> list[int]:
    """The processes listening on ``port``: a server found by its port, not its name (the fault
    tests run brokers and clusters of their own on this machine)."""
    return sorted({c.pid for c in psutil.net_connections(kind="tcp")
                   if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid})
TOTAL = "total"


_CLUSTER_OWN = ("checkpointer", "background writer", "walwriter", "autovacuum launcher",
                "logical replication launcher", "archiver", "stats collector")


def _postgres_pids(database: str, port: int) -> list[int]:
    """The processes of the cluster serving the bench that work for it: the postmaster, the
    cluster's own (WAL writer, checkpointer...) and the backends and autovacuum workers on the
    bench's database. Other databases' backends (the neighbours' tests) are left out."""
    postmasters = listening_pids(port)
    pids = list(postmasters)
    for postmaster in postmasters:
        for p in psutil.Process(postmaster).children():
            with contextlib.suppress(psutil.NoSuchProcess):
                title = " ".join(p.cmdline()).strip()
                if database in title or title.endswith(_CLUSTER_OWN):
                    pids.append(p.pid)
    return pids


class CpuMeter:
    """CPU seconds per party between ``start()`` and ``stop()``; PostgreSQL's processes are
    looked up at both ends, so a backend opened meanwhile is counted whole."""

    def __init__(self, watched: dict[str, list[int]], database: str, port: int) -> None:
        self.watched = watched
        self.database = database
        self.port = port
        self._before: dict[int, float] = {}

    def _parties(self) -> dict[str, list[int]]:
        return {**self.watched, POSTGRES: _postgres_pids(self.database, self.port)}

    def start(self) -> None:
        self._before = {pid: s for pids in self._parties().values() for pid, s in _cpu_seconds(pids).items()}

    def stop(self) -> dict[str, float]:
        used = {party: sum(s - self._before.get(pid, 0.0) for pid, s in _cpu_seconds(pids).items())
                for party, pids in self._parties().items()}
        used[TOTAL] = sum(used.values())
        return used


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[pid] = times.user + times.system
    return seconds
