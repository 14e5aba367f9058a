"""`make bench` (``python -m bench --help`` for the sizes). What each figure means is in
BENCHMARKS.md. Everything runs in a database and under a bus prefix of its own, removed at
the end, and every process the bench starts is stopped, also on an error or Ctrl-C."""

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvloop
from rich.console import Console

from bench import drain, ingest, people_import, results_read, survey_ingest
from bench.config import BenchConfig, parse_args
from bench.drain import FLOOR, SERVICE, Paths
from bench.processes import Child, Children
from bench.report import Figure, Run, machine, print_cpu, print_table, write_json
from bench.sandbox import Sandbox, sandbox
from bench.stats import median

MIB = 1024 * 1024
TABLE_WIDTH = 110
RSS_EVERY_S = 0.1
SOAK_RATE = 100.0  # events/s through the whole platform during the soak


class Figures:
    """Every figure of the bench, filled one run at a time."""

    def __init__(self, rates: tuple[float, ...]) -> None:
        self.ingest = Figure("ingest_http", "requests/s", "floor_ingest")
        self.ingest_nginx = Figure("ingest_http_nginx", "requests/s", "floor_ingest_nginx")
        self.drain = Figure("bus_drain", "events/s", "floor_bus")
        self.cpu = Figure("bus_cpu", "CPU ms/event", "floor_bus")
        self.latency = {rate: Figure(f"e2e_latency_{rate:g}", "ms p99", "floor_bus") for rate in rates}
        self.rss: dict[str, Figure] = {}
        self.people_import = Figure("people_import", "rows/s", "floor_people_import")
        self.survey_ingest = Figure("survey_ingest", "responses/s", "floor_survey_ingest")
        self.results_read = Figure("results_read", "ms p99", "naive_group_by")
        self.cpu_ms: list[dict[str, float]] = []  # per party, one dict per run's service drain

    def rss_figure(self, role: str) -> Figure:
        return self.rss.setdefault(role, Figure(f"rss_{role}", "MiB", "idle"))

    def results(self) -> list[dict[str, Any]]:
        figures = [self.ingest, self.ingest_nginx, self.drain, self.cpu, *self.latency.values(),
                   *self.rss.values(), self.people_import, self.survey_ingest, self.results_read]
        return [f.result() for f in figures if f.runs]

    def cpu_medians(self) -> dict[str, float]:
        if not self.cpu_ms:  # --only ingest_http: no drains
            return {}
        return {party: round(median([run[party] for run in self.cpu_ms]), 3) for party in self.cpu_ms[0]}


@contextlib.asynccontextmanager
async def peak_rss(children: dict[str, Child]) -> AsyncIterator[dict[str, int]]:
    """Sample these processes' resident memory while the block runs; yields the peaks."""
    peaks = {role: c.rss() for role, c in children.items()}

    async def sample() -> None:
        while True:
            for role, c in children.items():
                peaks[role] = max(peaks[role], c.rss())
            await asyncio.sleep(RSS_EVERY_S)

    sampler = asyncio.create_task(sample())
    try:
        yield peaks
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler


def _in_turn(run: int, pair: tuple[str, str]) -> tuple[str, str]:
    """Interleaved: odd runs measure the first of a pair first, even runs the second."""
    return pair if run % 2 else (pair[1], pair[0])


async def measure(cfg: BenchConfig, console: Console) -> dict[str, Any]:
    figures = Figures(cfg.rates)
    soak: dict[str, dict[str, float]] = {}
    async with sandbox() as box:
        console.print(f"database {box.database}, bus prefix {box.settings.bus_prefix}")
        host = machine(*await box.server_versions())
        work = Path(tempfile.mkdtemp(prefix="civic-bench-"))
        try:
            with Children(work, box.child_env()) as children:
                soak = await _measure_all(cfg, box, children, work, console, figures)
        except BaseException:
            console.print(f"the logs of the processes the bench started are kept in {work}")
            raise
        shutil.rmtree(work)
    for role, growth in soak.items():
        figures.rss_figure(role).extra["soak"] = growth
    return {
        "command": f"python -m bench --only {cfg.only}" if cfg.only else "make bench",
        "machine": {**host, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "config": {"runs": cfg.runs, "events": cfg.events, "http_seconds": cfg.http_seconds,
                   "connections": cfg.connections, "rates": list(cfg.rates),
                   "pace_seconds": cfg.pace_seconds, "soak_seconds": cfg.soak_seconds,
                   "survey_processes": cfg.survey_processes, "results_responses": cfg.results_responses,
                   "results_reads": cfg.results_reads, "naive_reads": cfg.naive_reads},
        "results": figures.results(),
        "cpu_ms_per_event": figures.cpu_medians(),
    }


async def _measure_all(cfg: BenchConfig, box: Sandbox, children: Children, work: Path, console: Console,
                       figures: Figures) -> dict[str, dict[str, float]]:
    if cfg.only_people_import:  # in-process: none of the services' processes are started
        figures.people_import.runs.extend(await people_import.measure(box, cfg.runs, console))
        return {}
    if cfg.only_survey_ingest or cfg.only_results_read:
        await _measure_surveys(cfg, box, children, work, console, figures)
        return {}
    if cfg.profile_dir is not None:
        cfg.profile_dir.mkdir(parents=True, exist_ok=True)
    profile = cfg.profile_dir / "engagement-web.txt" if cfg.profile_dir else None
    targets = ingest.IngestTargets(box, children, work, profile_to=profile)
    if not cfg.only_bus:
        targets.start()
    paths = Paths(box, children, cfg.timeout_s)
    owner = await box.connect(owner=True)
    try:
        if not cfg.only_bus:
            await ingest.prepare_pgbench(owner)
        await paths.start()
        roles = {**({} if cfg.only_bus else {"web": targets.started[0]}),
                 **{("relay" if key == "relay" else f"{key}_consumer"): c
                    for key, c in paths.processes[SERVICE].items()}}
        idle = {role: c.rss() for role, c in roles.items()}
        for run in range(1, cfg.runs + 1):
            web_peak: dict[str, int] = {}
            if not cfg.only_bus:
                tag = secrets.token_hex(3)
                http: dict[str, ingest.HttpResult] = {}
                async with peak_rss({"web": roles["web"]}) as web_peak:
                    for pair in (("service", "floor"), ("service_nginx", "floor_nginx")):
                        for target in _in_turn(run, pair):
                            http[target] = await ingest.measure_http(
                                targets, owner, target, seconds=cfg.http_seconds,
                                connections=cfg.connections, run=f"{tag}{target}")
                tps = await ingest.pgbench(box.settings.migration_database_url, work,
                                           seconds=cfg.http_seconds, clients=max(1, cfg.connections // 4))
                await owner.execute("TRUNCATE bench_pgbench.people")
                await owner.execute(ingest.EMPTY)
                for figure, keys in ((figures.ingest, ("service", "floor")),
                                     (figures.ingest_nginx, ("service_nginx", "floor_nginx"))):
                    a, b = http[keys[0]], http[keys[1]]
                    extra = {"pgbench_tps": tps, "cpu_ms_per_request": round(a.cpu_ms_per_request, 3),
                             "floor_cpu_ms_per_request": round(b.cpu_ms_per_request, 3)}
                    figure.runs.append(Run(a.rate, b.rate, a.p50_ms, a.p99_ms, b.p50_ms, b.p99_ms,
                                           extra=extra))
                console.log(
                    f"run {run}: HTTP direct {http['service'].rate:,.0f}/s "
                    f"(floor {http['floor'].rate:,.0f}/s), "
                    f"nginx {http['service_nginx'].rate:,.0f}/s (floor {http['floor_nginx'].rate:,.0f}/s), "
                    f"pgbench {tps:,.0f} tps; web CPU {http['service'].cpu_ms_per_request:.3f} ms/request "
                    f"(floor {http['floor'].cpu_ms_per_request:.3f})")
                if cfg.only_ingest:
                    figures.rss_figure("web").runs.append(Run(web_peak["web"] / MIB, idle["web"] / MIB))
                    continue

            drains: dict[str, drain.PathResult] = {}
            async with peak_rss({r: c for r, c in roles.items() if r != "web"}) as bus_peak:
                for path in _in_turn(run, (SERVICE, FLOOR)):
                    drains[path] = await paths.drain(path, cfg.events)
                mine, floor = drains[SERVICE], drains[FLOOR]
                figures.drain.runs.append(Run(mine.rate, floor.rate))
                figures.cpu.runs.append(Run(mine.cpu_ms[drain.TOTAL], floor.cpu_ms[drain.TOTAL],
                                            extra={"floor_" + k: v for k, v in floor.cpu_ms.items()}))
                figures.cpu_ms.append(mine.cpu_ms)
                for rate in cfg.rates:
                    paced = {path: await paths.paced(path, rate, cfg.pace_seconds)
                             for path in _in_turn(run, (SERVICE, FLOOR))}
                    s, f = paced[SERVICE], paced[FLOOR]
                    figures.latency[rate].runs.append(
                        Run(s.p99_ms, f.p99_ms, s.p50_ms, s.p99_ms, f.p50_ms, f.p99_ms))
            for role, peak in {**web_peak, **bus_peak}.items():
                figures.rss_figure(role).runs.append(Run(peak / MIB, idle[role] / MIB))
            latest = {rate: figures.latency[rate].runs[-1] for rate in cfg.rates}
            console.log(
                f"run {run}: drain {mine.rate:,.0f}/s (floor {floor.rate:,.0f}/s), CPU "
                f"{mine.cpu_ms[drain.TOTAL]:.2f} ms/event (floor {floor.cpu_ms[drain.TOTAL]:.2f}); p99 at "
                + ", ".join(f"{rate:g}/s {r.value:.0f} ms (floor {r.baseline_value:.0f})"
                            for rate, r in latest.items()))
        if cfg.only is None:
            figures.people_import.runs.extend(await people_import.measure(box, cfg.runs, console))
            await _measure_surveys(cfg, box, children, work, console, figures)
        return {} if cfg.only_ingest else await _soak(cfg, paths, roles, console)
    finally:
        await owner.close()
        await paths.close()


async def _measure_surveys(cfg: BenchConfig, box: Sandbox, children: Children, work: Path, console: Console,
                           figures: Figures) -> None:
    """survey_ingest (its own processes, stopped afterwards) and results_read, as chosen."""
    if cfg.profile_dir is not None:
        cfg.profile_dir.mkdir(parents=True, exist_ok=True)
    if not cfg.only_results_read:
        sizes = survey_ingest.Sizes(cfg.runs, cfg.http_seconds, cfg.connections, cfg.survey_processes)
        figures.survey_ingest.runs.extend(
            await survey_ingest.measure(box, children, work, sizes, console, cfg.profile_dir))
    if not cfg.only_survey_ingest:
        reads = results_read.Sizes(cfg.runs, cfg.results_responses, cfg.results_reads, cfg.naive_reads)
        figures.results_read.runs.extend(await results_read.measure(box, reads, console))


async def _soak(cfg: BenchConfig, paths: Paths, roles: dict[str, Child], console: Console
                ) -> dict[str, dict[str, float]]:
    """Steady load through the bus for a while: what each process holds on to afterwards."""
    before = {role: c.rss() for role, c in roles.items()}
    await paths.paced(SERVICE, SOAK_RATE, cfg.soak_seconds)
    after = {role: c.rss() for role, c in roles.items()}
    console.log("soak: " + ", ".join(f"{r} {(after[r] - before[r]) / MIB:+.1f} MiB" for r in roles))
    return {role: {"seconds": cfg.soak_seconds, "events": SOAK_RATE * cfg.soak_seconds,
                   "before_mib": round(before[role] / MIB, 1), "after_mib": round(after[role] / MIB, 1),
                   "growth_mib": round((after[role] - before[role]) / MIB, 1)} for role in roles}


async def _cancel_on_sigterm(cfg: BenchConfig, console: Console) -> dict[str, Any]:
    """SIGTERM unwinds like Ctrl-C does, through every cleanup on the way out."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await measure(cfg, console)


def _merged(cfg: BenchConfig, document: dict[str, Any]) -> dict[str, Any]:
    """The figures just measured in place of theirs; every other entry as it was."""
    if not cfg.output.exists():
        return document
    previous = json.loads(cfg.output.read_text())
    fresh = {r["name"]: r for r in document["results"]}
    results = [fresh.pop(r["name"], r) for r in previous["results"]] + list(fresh.values())
    return {**previous, "results": results,
            "partial_runs": {**previous.get("partial_runs", {}),
                             cfg.only: {k: document[k] for k in ("command", "machine", "config")}},
            # The drains' CPU per party, when they were measured now.
            "cpu_ms_per_event": document["cpu_ms_per_event"] or previous.get("cpu_ms_per_event", {})}


def main() -> None:
    cfg = parse_args()
    # Never narrower than the table: a narrow terminal then wraps lines, rather than rich
    # cutting figures short.
    console = Console(width=max(TABLE_WIDTH, Console().width))
    try:
        document = uvloop.run(_cancel_on_sigterm(cfg, console))
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("[red]interrupted[/red]: the bench's processes, database and queues are removed")
        raise SystemExit(130) from None
    print_table(document["results"], console)
    if document["cpu_ms_per_event"]:
        print_cpu(document["cpu_ms_per_event"], console)
    if cfg.profile_dir is not None:
        console.print(
            f"profiles of the services in {cfg.profile_dir}; {cfg.output} left as it was "
            "(profiled figures are slower)"
        )
    elif not cfg.writes_results:
        console.print(f"fewer than 3 runs: {cfg.output} left as it was")
    else:
        if cfg.only:
            document = _merged(cfg, document)
        write_json(cfg.output, document)
        console.print(f"written to {cfg.output}")


main()
