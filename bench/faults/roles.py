"""One round's platform: a database and bus prefix of its own on the run's private PostgreSQL and
RabbitMQ, and every role that moves events in a process of its own, so each can be killed alone."""

import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

from bench.faults.children import Child
from bench.faults.infra import Infra, free_port
from deploy.stack import prepare
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
    def __init__(self, infra: Infra, name: str, *, flaky_flag: Path | None = None) -> None:
        self.infra = infra
        self.settings = Settings(
            database_url=infra.postgres.url(name),
            rabbitmq_url=infra.rabbit.url,
            bus_prefix=f"{name}.",
            engagement_port=free_port(),
            retry_delays_ms=list(RETRY_DELAYS_MS),
        )
        env = {
            "PATH": "/usr/bin:/bin",
            "CIVIC_DATABASE_URL": self.settings.database_url,
            "CIVIC_RABBITMQ_URL": self.settings.rabbitmq_url,
            "CIVIC_BUS_PREFIX": self.settings.bus_prefix,
            "CIVIC_ENGAGEMENT_PORT": str(self.settings.engagement_port),
            "CIVIC_RETRY_DELAYS_MS": json.dumps(RETRY_DELAYS_MS),
            "CIVIC_POOL_MAX_SIZE": "3",
            "CIVIC_LOG_JSON": "false",
        }
        if flaky_flag is not None:
            env["CIVIC_FAULTS_FAIL_FLAG"] = str(flaky_flag)
        self.processes: dict[str, Child] = {}
        for process, service, role in ROLES:
            # With a flag, consumers run through the harness's wrapper whose handlers fail on demand.
            module = (["bench.faults.flaky", service] if flaky_flag is not None and role == "consumer"
                      else [f"services.{service}"])
            self.processes[process] = Child(
                f"{name}-{process}", [sys.executable, "-m", *module, "run", "--roles", role],
                env=env, cwd=REPO, log_dir=infra.log_dir)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.settings.engagement_port}"

    async def start(self, timeout: float = 120.0) -> None:
        await prepare(self.settings, demo_data=False)
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
                    async with session.get(f"{self.api}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"engagement web not ready:\n{self.processes['web'].log_tail()}")
                await asyncio.sleep(0.2)

    def crashed(self) -> list[str]:
        """Processes that exited on their own: a role that dies silently stops moving events."""
        return [name for name, child in self.processes.items() if not child.running]

    def stop(self) -> None:
        for child in self.processes.values():
            child.signal(child.stop_signal)
        for child in self.processes.values():
            child.stop(timeout=15)
