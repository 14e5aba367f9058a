"""Running the faults: each round gets a fresh platform, a steady load, one fault, time to settle,
then a count of what was lost, left undelivered or applied twice."""

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import asyncpg

from bench.faults import audit
from bench.faults.catalogue import FAULTS, FAULTS_BY_NAME, Drill, Fault
from bench.faults.infra import Infra, private_infra
from bench.faults.load import RegistrationLoad
from bench.faults.mutants import MUTANTS
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
    # A deliberately broken platform (bench.faults.mutants), to show the audit fails when it must.
    mutant: str | None = None

    def __post_init__(self) -> None:
        if self.mutant is not None and self.mutant not in MUTANTS:
            raise ValueError(f"unknown mutant {self.mutant!r}; known: {', '.join(MUTANTS)}")
        unknown = set(self.faults) - set(FAULTS_BY_NAME)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {sorted(FAULTS_BY_NAME)}")
        # A handler failing for the hold time must recover before its retries run out, with
        # room to spare, or its events are parked by design rather than by a fault in the code.
        if 2 * self.hold_s * 1000 > sum(RETRY_DELAYS_MS):
            raise ValueError(f"hold_s must be at most {sum(RETRY_DELAYS_MS) / 2000:.2f}s")


# Harm: each must be 0.
HARM = ("lost", "undelivered", "duplicate_effects", "orphan_effects", "parked_wrongly", "crashed")
# Evidence that a fault did something; which must be above 0 is each fault's choice (Fault.evidence).
EVIDENCE = ("rejected", "unanswered", "redelivered", "retried", "window_hits", "poison_parked")


@dataclass(frozen=True)
class Result:
    fault: str
    rounds: int
    acknowledged: int
    rejected: int  # requests without a 2xx: refused while the fault lasted, never promised
    unanswered: int  # registrations committed whose answer never reached the client
    redelivered: int  # messages a consumer got a second copy of (re-published or redelivered)
    retried: int  # deliveries of retries after a handler failed
    window_hits: int  # crash points reached (shared.crashpoints' record)
    poison_parked: int  # injected poison messages found in the DLQs
    lost: int
    undelivered: int
    duplicate_effects: int
    orphan_effects: int
    parked_wrongly: int
    crashed: int  # role processes that died on their own
    recovery_s: float | None  # the worst round's; None when a round never recovered
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return (self.recovery_s is not None and not self.problems
                and not any(getattr(self, name) for name in HARM))


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
    platform = RoundPlatform(infra, name, flaky_flag=flag if fault.flaky_handlers else None,
                             mutant=config.mutant)
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

    async def audit_all(conn: asyncpg.Connection) -> tuple[audit.Counts, int]:
        counts = await audit.count(conn, drill.bus, load.acknowledged, drill.poison_ids)
        return counts, await audit.unanswered(conn, load.acknowledged)

    counts, unanswered = await _with_connection(platform.settings, audit_all)
    deliveries = audit.deliveries(platform.delivery_log)
    crashed = platform.crashed()
    if crashed:
        problems.append(f"crashed: {', '.join(crashed)}")
    result = Result(
        fault=fault.name, rounds=1,
        acknowledged=len(load.acknowledged), rejected=load.rejected, unanswered=unanswered,
        redelivered=deliveries.redelivered, retried=deliveries.retried,
        window_hits=sum(audit.crash_hits(platform.crash_record).values()),
        poison_parked=counts.poison_parked,
        lost=counts.lost, undelivered=counts.undelivered,
        duplicate_effects=counts.duplicate_effects, orphan_effects=counts.orphan_effects,
        parked_wrongly=counts.parked_wrongly, crashed=len(crashed),
        recovery_s=None if recovered is None else round(recovered - injected, 2),
    )
    # A fault that did nothing proves nothing: each names what it must have caused.
    problems += [f"did nothing: {name} is 0" for name in fault.evidence if not getattr(result, name)]
    return dataclasses.replace(result, problems=tuple(problems))


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


async def _missing(settings: Settings, names: Sequence[str]) -> int | None:
    """Effects still missing, or None while the database cannot say."""
    try:
        return await _with_connection(settings, lambda conn: audit.missing_effects(conn, names))
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
        **{name: sum(getattr(r, name) for r in results) for name in (*EVIDENCE, *HARM)},
        recovery_s=None if None in recoveries else max(r for r in recoveries if r is not None),
        problems=tuple(p for r in results for p in r.problems),
    )


def _summary(result: Result) -> str:
    recovery = "never" if result.recovery_s is None else f"{result.recovery_s:.1f}s"
    return (f"{result.acknowledged} acknowledged, "
            + ", ".join(f"{name} {getattr(result, name)}" for name in (*EVIDENCE, *HARM))
            + f", recovery {recovery}" + "".join(f"; {p}" for p in result.problems))
