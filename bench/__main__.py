"""`make bench` (``python -m bench --help`` for the sizes). What each figure means is in
BENCHMARKS.md. Everything runs in a database and under a bus prefix of its own, removed at
the end, and every process the bench starts is stopped, also on an error or Ctrl-C."""

import asyncio
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import uvloop
from rich.console import Console

from bench import postgres_writes
from bench.bus_load import SERVICE_ROLES, BusLoad
from bench.config import BenchConfig, parse_args
from bench.cpu import TOTAL, per_event_ms
from bench.processes import Children, bare_python_rss
from bench.rabbit_loop import RabbitLoop
from bench.report import Figure, Run, machine, print_cpu, print_table, write_json
from bench.sandbox import Sandbox, sandbox
from bench.stats import median

MIB = 1024 * 1024
TABLE_WIDTH = 100


class Figures:
    """Every figure of the bench, filled one run at a time."""

    def __init__(self) -> None:
        self.bus = Figure("bus", "events/s", "rabbitmq_loop")
        self.bus_cpu = Figure("bus_cpu", "CPU ms/event", "rabbitmq_loop")
        self.writes = Figure("register_person", "people/s", "postgres_insert")
        self.rss = {name: Figure(f"rss_{name}", "MiB", "bare_python") for name, _role in SERVICE_ROLES}
        # CPU ms per event and party in the bursts, one dict per run, for "where the time goes".
        self.cpu_ms: dict[str, list[dict[str, float]]] = {"bus": [], "rabbitmq_loop": []}

    def results(self) -> list[dict[str, Any]]:
        return [f.result() for f in (self.bus, self.bus_cpu, self.writes, *self.rss.values())]

    def cpu_medians(self) -> dict[str, dict[str, float]]:
        return {
            path: {party: round(median([run[party] for run in runs]), 3) for party in runs[0]}
            for path, runs in self.cpu_ms.items()
        }


async def measure(cfg: BenchConfig, console: Console) -> dict[str, Any]:
    figures = Figures()
    async with sandbox() as box:
        console.print(f"database {box.database}, bus prefix {box.settings.bus_prefix}")
        host = machine(*await box.server_versions())
        # First, while no service runs: nothing else touches the tables.
        for run in range(1, cfg.runs + 1):
            w = await postgres_writes.measure(box, cfg.events, cfg.txn_batch, cfg.producers)
            figures.writes.runs.append(Run(w.register_rate, w.insert_rate))
            console.log(
                f"run {run}: register_person {w.register_rate:,.0f}/s, plain INSERT {w.insert_rate:,.0f}/s"
            )
        logs = Path(tempfile.mkdtemp(prefix="civic-bench-"))
        try:
            with Children(logs, box.child_env()) as children:
                await _measure_bus(cfg, box, children, console, figures)
        except BaseException:
            console.print(f"the logs of the processes the bench started are kept in {logs}")
            raise
        shutil.rmtree(logs)
    return {
        "command": "make bench",
        "machine": {**host, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "config": {
            "runs": cfg.runs,
            "events": cfg.events,
            "txn_batch": cfg.txn_batch,
            "producers": cfg.producers,
            "pace_fraction": cfg.pace_fraction,
            "pace_seconds": cfg.pace_seconds,
        },
        "results": figures.results(),
        "cpu_ms_per_event": figures.cpu_medians(),
    }


async def _measure_bus(
    cfg: BenchConfig, box: Sandbox, children: Children, console: Console, figures: Figures
) -> None:
    bus = BusLoad(box, children, producers=cfg.producers, txn_batch=cfg.txn_batch, timeout_s=cfg.timeout_s)
    rabbit = RabbitLoop(box, children, cfg.timeout_s)
    try:
        if cfg.profile_dir is not None:
            cfg.profile_dir.mkdir(parents=True, exist_ok=True)
        await bus.start(cfg.profile_dir)
        await rabbit.open()
        for run in range(1, cfg.runs + 1):
            floor = bare_python_rss(children)
            loop = await rabbit.burst(cfg.events)
            async with bus.peak_rss() as peaks:
                burst = await bus.burst(cfg.events)
                # Latency at an offered rate both paths can sustain, the same for both.
                pace = cfg.pace_fraction * burst.rate
                paced = await bus.paced(pace, cfg.pace_seconds)
            loop_paced = await rabbit.paced(pace, cfg.pace_seconds)

            figures.bus.runs.append(
                Run(
                    burst.rate,
                    loop.rate,
                    paced.p50_ms,
                    paced.p99_ms,
                    loop_paced.p50_ms,
                    loop_paced.p99_ms,
                    extra={"produced_per_s": burst.produced_rate, "paced_at_per_s": pace},
                )
            )
            bus_ms, loop_ms = per_event_ms(burst.cpu_s, cfg.events), per_event_ms(loop.cpu_s, cfg.events)
            figures.cpu_ms["bus"].append(bus_ms)
            figures.cpu_ms["rabbitmq_loop"].append(loop_ms)
            figures.bus_cpu.runs.append(Run(bus_ms[TOTAL], loop_ms[TOTAL]))
            for name, peak in peaks.items():
                figures.rss[name].runs.append(Run(peak / MIB, floor / MIB))
            console.log(
                f"run {run}: bus {burst.rate:,.0f}/s (produced {burst.produced_rate:,.0f}/s, "
                f"{bus_ms[TOTAL]:.2f} CPU ms/event), loop {loop.rate:,.0f}/s "
                f"({loop_ms[TOTAL]:.2f}); at {pace:,.0f}/s p50/p99 bus "
                f"{paced.p50_ms:.0f}/{paced.p99_ms:.0f} ms, loop "
                f"{loop_paced.p50_ms:.0f}/{loop_paced.p99_ms:.0f} ms"
            )
    finally:
        await rabbit.close()
        await bus.close()


async def _cancel_on_sigterm(cfg: BenchConfig, console: Console) -> dict[str, Any]:
    """SIGTERM unwinds like Ctrl-C does, through every cleanup on the way out."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await measure(cfg, console)


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
    print_cpu(document["cpu_ms_per_event"], console)
    if cfg.profile_dir is not None:
        console.print(
            f"profiles of the services in {cfg.profile_dir}; {cfg.output} left as it was "
            "(profiled figures are slower)"
        )
    elif not cfg.writes_results:
        console.print(f"fewer than 3 runs: {cfg.output} left as it was")
    else:
        write_json(cfg.output, document)
        console.print(f"written to {cfg.output}")


main()
