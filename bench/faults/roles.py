"""One round's platform: a database and bus prefix of its own on the run's private PostgreSQL and
RabbitMQ, every role that moves events in a process of its own, so each can be killed alone, and
nginx in front of the web role, as users reach it."""

import asyncio
import json
import shutil
import signal
import sys
import time
from pathlib import Path

import aiohttp
import asyncpg

from bench.faults import audit, mutants
from bench.faults.audited import DELIVERY_LOG_ENV, FLAG_ENV, MUTANT_ENV
from bench.faults.children import Child
from bench.faults.infra import Infra, free_port
from deploy.proxy import write_nginx_config
from deploy.stack import prepare
from services.engagement.app import SPEC as ENGAGEMENT
from shared.settings import Settings

REPO = Path(__file__).resolve().parents[2]
# Long enough in total to outlast a handler failing for the hold time (checked by SuiteConfig),
# so a transient failure is retried into success rather than parked.
RETRY_DELAYS_MS = (500, 1_000, 2_000, 4_000)
# The processes: name, service, role. Two relays compete for the same outbox.
ROLES = (
    ("web", "engagement", "web"),
    ("relay-a", "engagement", "relay"),
    ("relay-b", "engagement", "relay"),
    ("surveys-consumer", "surveys", "consumer"),
    ("notifications-consumer", "notifications", "consumer"),
)
# Logged by shared.runtime.serve once a process has opened its pool and bus and started its roles.
STARTED_MARK = b"running roles"


class RoundPlatform:
    def __init__(self, infra: Infra, name: str, *, flaky_flag: Path | None = None,
                 mutant: str | None = None) -> None:
        self.infra = infra
        self.mutant = mutant
        # The private cluster has one role: it migrates and serves (the roles' grants are tested
        # elsewhere; here what is under test is what a crash or a restart does to the events).
        self.settings = Settings(
            database_url=infra.postgres.url(name),
            migration_database_url=infra.postgres.url(name),
            rabbitmq_url=infra.rabbit.url,
            bus_prefix=f"{name}.",
            engagement_port=free_port(),
            proxy_port=free_port(),
            retry_delays_ms=list(RETRY_DELAYS_MS),
        )
        self.delivery_log = infra.root / f"{name}.deliveries"
        self.crash_record = infra.root / f"{name}.crashes"
        env = {
            "PATH": "/usr/bin:/bin",
            "CIVIC_DATABASE_URL": self.settings.database_url,
            "CIVIC_MIGRATION_DATABASE_URL": self.settings.migration_database_url,
            # One client sends the whole load: the per-client limit would refuse most of it.
            "CIVIC_REGISTRATIONS_PER_CLIENT": "0",
            "CIVIC_RABBITMQ_URL": self.settings.rabbitmq_url,
            "CIVIC_BUS_PREFIX": self.settings.bus_prefix,
            "CIVIC_ENGAGEMENT_PORT": str(self.settings.engagement_port),
            "CIVIC_RETRY_DELAYS_MS": json.dumps(RETRY_DELAYS_MS),
            "CIVIC_POOL_MAX_SIZE": "3",
            "CIVIC_LOG_JSON": "false",
            DELIVERY_LOG_ENV: str(self.delivery_log),
            "CIVIC_CRASH_RECORD": str(self.crash_record),
        }
        if flaky_flag is not None:
            env[FLAG_ENV] = str(flaky_flag)
        if mutant is not None:
            env[MUTANT_ENV] = mutant
        self.processes: dict[str, Child] = {}
        for process, service, role in ROLES:
            self.processes[process] = Child(
                f"{name}-{process}",
                [sys.executable, "-m", "bench.faults.audited", service, "run", "--roles", role],
                env=env, cwd=REPO, log_dir=infra.log_dir)
        prefix = infra.root / f"{name}-nginx"
        conf = write_nginx_config([ENGAGEMENT], self.settings, prefix)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proxy = Child(f"{name}-nginx", [nginx, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"],
                           log_dir=infra.log_dir, stop_signal=signal.SIGQUIT, orphan_signal=signal.SIGTERM)

    @property
    def api(self) -> str:
        """Where the load goes: nginx, as for every user."""
        return f"http://127.0.0.1:{self.settings.proxy_port}"

    async def start(self, timeout: float = 120.0) -> None:
        await prepare(self.settings, demo_data=False)
        conn = await asyncpg.connect(self.settings.database_url)
        try:
            await audit.create_effect_log(conn)
            await mutants.break_database(conn, self.mutant)
        finally:
            await conn.close()
        self.proxy.start()
        for child in self.processes.values():
            child.start()
        await asyncio.gather(*(self.wait_started(child, timeout) for child in self.processes.values()))
        await self._wait_web_ready(timeout)

    async def wait_started(self, child: Child, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while STARTED_MARK not in child.log_path.read_bytes():
            if not child.running or time.monotonic() > deadline:
                raise RuntimeError(f"{child.name} did not start:\n{child.log_tail()}")
            await asyncio.sleep(0.1)

    async def _wait_web_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"{self.api}/engagement/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"engagement web not ready:\n{self.processes['web'].log_tail()}")
                await asyncio.sleep(0.2)

    def crashed(self) -> list[str]:
        """Processes that exited on their own: a role that dies silently stops moving events."""
        return [name for name, child in (*self.processes.items(), ("nginx", self.proxy))
                if not child.running]

    def stop(self) -> None:
        for child in self.processes.values():
            child.signal(child.stop_signal)
        for child in self.processes.values():
            child.stop(timeout=15)
        self.proxy.stop(timeout=15)
