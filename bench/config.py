"""How big the bench is and where it writes: each flag defaults to a ``BENCH_*`` variable, so
`make bench` can be resized without editing anything."""

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

MIN_RUNS_FOR_RESULTS = 3  # medians of fewer runs are too noisy to publish on a shared machine


@dataclass(frozen=True)
class BenchConfig:
    runs: int
    events: int  # per run, for each burst (bus, RabbitMQ loop, PostgreSQL writes)
    txn_batch: int  # registrations per producing transaction in the bursts
    producers: int  # concurrent producing connections in the bursts
    pace_fraction: float  # the paced phases offer this fraction of the run's bus burst rate
    pace_seconds: float
    timeout_s: float  # longest wait for one phase's effects before giving up
    output: Path
    profile_dir: Path | None

    @property
    def writes_results(self) -> bool:
        # Profiled services are slower: their figures must not replace the published ones.
        return self.profile_dir is None and self.runs >= MIN_RUNS_FOR_RESULTS


def _env(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_{name}", default)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def parse_args(argv: list[str] | None = None) -> BenchConfig:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "--runs",
        type=_positive_int,
        default=_env("RUNS", "3"),
        help="repetitions; medians are reported (BENCH_RUNS, default 3)",
    )
    p.add_argument(
        "--events",
        type=_positive_int,
        default=_env("EVENTS", "5000"),
        help="events or rows per burst (BENCH_EVENTS, default 5000)",
    )
    p.add_argument(
        "--txn-batch",
        type=_positive_int,
        default=_env("TXN_BATCH", "100"),
        help="registrations per producing transaction (BENCH_TXN_BATCH, default 100)",
    )
    p.add_argument(
        "--producers",
        type=_positive_int,
        default=_env("PRODUCERS", "2"),
        help="concurrent producing connections (BENCH_PRODUCERS, default 2)",
    )
    p.add_argument(
        "--pace-fraction",
        type=_positive_float,
        default=_env("PACE_FRACTION", "0.5"),
        help="latency is measured at this fraction of the bus burst rate (BENCH_PACE_FRACTION, default 0.5)",
    )
    p.add_argument(
        "--pace-seconds",
        type=_positive_float,
        default=_env("PACE_SECONDS", "4"),
        help="length of each paced phase (BENCH_PACE_SECONDS, default 4)",
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        default=_env("TIMEOUT_S", "120"),
        help="seconds to wait for one phase's effects (BENCH_TIMEOUT_S, default 120)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=_env("OUTPUT", "bench/results.json"),
        help="results file (BENCH_OUTPUT, default bench/results.json)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=os.environ.get("BENCH_PROFILE_DIR") or None,
        metavar="DIR",
        help="run the services under pyinstrument and write their profiles "
        "to DIR; results.json is then left alone (BENCH_PROFILE_DIR)",
    )
    a = p.parse_args(argv)
    return BenchConfig(
        runs=a.runs,
        events=a.events,
        txn_batch=a.txn_batch,
        producers=a.producers,
        pace_fraction=a.pace_fraction,
        pace_seconds=a.pace_seconds,
        timeout_s=a.timeout,
        output=a.output,
        profile_dir=a.profile,
    )
