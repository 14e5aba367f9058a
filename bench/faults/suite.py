"""Running the faults: each round gets a fresh platform, a steady load, one fault, time to settle,
then a count of what was lost, left undelivered or applied twice."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import asyncpg

from bench.faults import audit
from bench.faults.catalogue import FAULTS, FAULTS_BY_NAME, Drill, Fault
from bench.faults.infra import Infra, private_infra
from bench.faults.load import RegistrationLoad
from bench.faults.roles import RETRY_DELAYS_MS, RoundPlatform
from shared.bus import BROKER_ERRORS, Bus
from shared.db import CONNECTION_ERRORS
from shared.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class SuiteConfig:
    rounds: int = 1
    rate: float = 40.0  # registrations offered per second
    hold_s: float = 3.0  # how long a held fault lasts
    warmup_s: float = 2.0
    recovery_timeout_s: float = 180.0
    settle_timeout_s: float = 180.0
    faults: tuple[str, ...] = tuple(fault.name for fault in FAULTS)
    log_dir: Path | None = None

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(FAULTS_BY_NAME)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(FAULTS_BY_NAME)}")
        # A handler failing for the hold time must recover before its retries run out, with
        # room to spare, or its events are parked by design rather than by a fault in the code.
        if 2 * self.hold_s * 1000 > sum(RETRY_DELAYS_MS):
            raise ValueError(f"hold_s must be at most {sum(RETRY_DELAYS_MS) / 2000:.2f}s")


@dataclass(frozen=True)
class Result:
    fault: str
    rounds: int
    acknowledged: int
    rejected: int  # requests without a 201: refused while the fault lasted, never promised
    lost: int
    undelivered: int
    duplicate_effects: int
    duplicate_notices: int
    parked_wrongly: int
    crashed: int  # role processes that died on their own
    recovery_s: float | None  # the worst round's; None when a round never recovered
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return (self.recovery_s is not None and not self.problems
                and not (self.lost or self.undelivered or self.duplicate_effects
                         or self.duplicate_notices or self.parked_wrongly or self.crashed))


async def run_suite(config: SuiteConfig) -> list[Result]:
    faults = [FAULTS_BY_NAME[name] for name in config.faults]
    rounds: dict[str, list[Result]] = {fault.name: [] for fault in faults}
    async with private_infra(config.log_dir) as infra:
        log.info("private PostgreSQL on port %d, RabbitMQ on port %d", infra.postgres.port,
                 infra.rabbit.port)
        for number in range(config.rounds):
            for fault in faults:
                result = await run_round(infra, fault, config, f"round{number}_{faults.index(fault)}")
                log.info("%s round %d: %s", fault.name, number + 1, _summary(result))
                rounds[fault.name].append(result)
    return [_combine(results) for results in rounds.values()]


async def run_round(infra: Infra, fault: Fault, config: SuiteConfig, name: str) -> Result:
    flag = infra.root / f"{name}.fail"
    platform = RoundPlatform(infra, name, flaky_flag=flag if fault.flaky_handlers else None)
    try:
        await platform.start()
        bus = Bus(platform.settings, name="faults")
        await bus.connect()
        try:
            return await _drill(Drill(platform, bus, flag), fault, config)
        finally:
            await bus.close()
    finally:
        platform.stop()
        flag.unlink(missing_ok=True)


async def _drill(drill: Drill, fault: Fault, config: SuiteConfig) -> Result:
    platform = drill.platform
    load = RegistrationLoad(platform.api, config.rate, tag=platform.settings.bus_prefix)
    load.start()
    try:
        started = time.monotonic()
        await asyncio.sleep(config.warmup_s)
        if await _recovered_at(platform, load, started, config.recovery_timeout_s) is None:
            raise RuntimeError(f"{fault.name}: events did not flow before the fault")
        injected = time.monotonic()
        await fault.inject(drill)
        if fault.held:
            await asyncio.sleep(config.hold_s)
        await fault.heal(drill)
        recovered = await _recovered_at(platform, load, time.monotonic(), config.recovery_timeout_s)
    finally:
        await load.stop()
    problems = [] if await _settle(drill, config.settle_timeout_s) else ["did not settle"]
    counts = await _with_connection(platform.settings, lambda conn: audit.count(
        conn, drill.bus, load.acknowledged, drill.poison_ids))
    crashed = platform.crashed()
    if crashed:
        problems.append(f"crashed: {', '.join(crashed)}")
    return Result(
        fault=fault.name, rounds=1,
        acknowledged=len(load.acknowledged), rejected=load.rejected,
        lost=counts.lost, undelivered=counts.undelivered,
        duplicate_effects=counts.duplicate_effects, duplicate_notices=counts.duplicate_notices,
        parked_wrongly=counts.parked_wrongly, crashed=len(crashed),
        recovery_s=None if recovered is None else round(recovered - injected, 2),
        problems=tuple(problems),
    )


async def _recovered_at(platform: RoundPlatform, load: RegistrationLoad, since: float,
                        timeout: float) -> float | None:
    """The first moment after ``since`` when a write acknowledged after it proves the platform
    takes writes again, and every write acknowledged so far has all of its effects. None once
    ``timeout`` passed or a process died: nothing would restart it."""
    deadline = since + timeout
    while time.monotonic() < deadline and not platform.crashed():
        checked_at = time.monotonic()
        acknowledged = load.acknowledged[:]
        if load.acknowledged_since(since) and not await _missing(platform.settings, acknowledged):
            return checked_at
        await asyncio.sleep(0.2)
    return None


async def _missing(settings: Settings, ids: Sequence[UUID]) -> int | None:
    """Effects still missing, or None while the database cannot say."""
    try:
        return await _with_connection(settings, lambda conn: audit.missing_effects(conn, ids))
    except CONNECTION_ERRORS:
        return None


async def _settle(drill: Drill, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not drill.platform.crashed():
        try:
            if await _with_connection(drill.platform.settings,
                                      lambda conn: audit.settled(conn, drill.bus)):
                return True
        except CONNECTION_ERRORS + BROKER_ERRORS as exc:
            log.info("not settled yet: %s", exc)
        await asyncio.sleep(0.25)
    return False


async def _with_connection(settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    # A fresh connection each time: a pooled one would be dead after the cluster restarted.
    conn = await asyncpg.connect(settings.database_url, timeout=5)
    try:
        return await work(conn)
    finally:
        await conn.close()


def _combine(results: list[Result]) -> Result:
    recoveries = [r.recovery_s for r in results]
    return Result(
        fault=results[0].fault, rounds=len(results),
        acknowledged=sum(r.acknowledged for r in results),
        rejected=sum(r.rejected for r in results),
        lost=sum(r.lost for r in results),
        undelivered=sum(r.undelivered for r in results),
        duplicate_effects=sum(r.duplicate_effects for r in results),
        duplicate_notices=sum(r.duplicate_notices for r in results),
        parked_wrongly=sum(r.parked_wrongly for r in results),
        crashed=sum(r.crashed for r in results),
        recovery_s=None if None in recoveries else max(r for r in recoveries if r is not None),
        problems=tuple(p for r in results for p in r.problems),
    )


def _summary(result: Result) -> str:
    recovery = "never" if result.recovery_s is None else f"{result.recovery_s:.1f}s"
    return (f"{result.acknowledged} acknowledged, {result.rejected} rejected, lost {result.lost}, "
            f"undelivered {result.undelivered}, effects twice {result.duplicate_effects}, "
            f"parked wrongly {result.parked_wrongly}, crashed {result.crashed}, recovery {recovery}"
            + "".join(f"; {p}" for p in result.problems))
