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
    events: int  # per run, for each drain (bus and floor)
    http_seconds: float  # length of each wrk and pgbench run
    connections: int  # wrk's keep-alive connections (and pgbench's clients)
    rates: tuple[float, ...]  # the fixed offered rates of the latency phases, events/s
    pace_seconds: float
    soak_seconds: float  # steady load between the RSS readings of the soak
    timeout_s: float  # longest wait for one phase's effects before giving up
    output: Path
    profile_dir: Path | None
    only_ingest: bool = False  # the ingest_http figures alone (their entries replaced in the output)
    only_bus: bool = False  # the bus figures alone: drain, CPU, latency, the bus roles' RSS and soak
    only_people_import: bool = False  # people_import alone (no service processes)
    only_survey_ingest: bool = False  # survey_ingest alone (surveys' web processes, its floor, pgbench)
    only_results_read: bool = False  # results_read alone (in-process reads, no service processes)
    survey_processes: int = 2  # processes of surveys' web role (and of its floor) in survey_ingest
    results_responses: int = 1_000_000  # responses of the survey results_read reads
    results_reads: int = 1000  # reads of results_of per run
    naive_reads: int = 3  # reads of the naive GROUP BY per run

    @property
    def only(self) -> str | None:
        """The figures measured alone, by the name ``--only`` takes, or None for all of them."""
        if self.only_people_import:
            return "people_import"
        if self.only_survey_ingest:
            return "survey_ingest"
        if self.only_results_read:
            return "results_read"
        return "ingest_http" if self.only_ingest else "bus_drain" if self.only_bus else None

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
        help="events per drain (BENCH_EVENTS, default 5000)",
    )
    p.add_argument(
        "--http-seconds",
        type=_positive_float,
        default=_env("HTTP_SECONDS", "10"),
        help="length of each wrk and pgbench run (BENCH_HTTP_SECONDS, default 10)",
    )
    p.add_argument(
        "--connections",
        type=_positive_int,
        default=_env("CONNECTIONS", "64"),
        help="wrk's keep-alive connections; pgbench's clients are a quarter (BENCH_CONNECTIONS, default 64)",
    )
    p.add_argument(
        "--rates",
        default=_env("RATES", "100,400"),
        help="offered rates of the latency phases, events/s (BENCH_RATES, default 100,400)",
    )
    p.add_argument(
        "--pace-seconds",
        type=_positive_float,
        default=_env("PACE_SECONDS", "5"),
        help="length of each latency phase (BENCH_PACE_SECONDS, default 5)",
    )
    p.add_argument(
        "--soak-seconds",
        type=_positive_float,
        default=_env("SOAK_SECONDS", "30"),
        help="steady load between the two RSS readings of the soak (BENCH_SOAK_SECONDS, default 30)",
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
    p.add_argument(
        "--only",
        choices=["ingest_http", "bus_drain", "people_import", "survey_ingest", "results_read"],
        default=os.environ.get("BENCH_ONLY") or None,
        help="measure only these figures (ingest_http: ingest_http and ingest_http_nginx; bus_drain: "
        "bus_drain, bus_cpu, e2e_latency_* and the bus roles' rss_*; people_import: importing "
        "100,000 people from CSV; survey_ingest: survey responses over HTTP; results_read: the results "
        "page's data of a survey of a million responses); the output's other "
        "entries are kept as they were (BENCH_ONLY)",
    )
    p.add_argument(
        "--survey-processes",
        type=_positive_int,
        default=_env("SURVEY_PROCESSES", "2"),
        help="processes of surveys' web role, and of its floor, in survey_ingest (BENCH_SURVEY_PROCESSES, "
        "default 2)",
    )
    p.add_argument(
        "--results-responses",
        type=_positive_int,
        default=_env("RESULTS_RESPONSES", "1000000"),
        help="responses of the survey results_read reads (BENCH_RESULTS_RESPONSES, default 1000000)",
    )
    p.add_argument(
        "--results-reads",
        type=_positive_int,
        default=_env("RESULTS_READS", "1000"),
        help="reads of the results page's data per run (BENCH_RESULTS_READS, default 1000)",
    )
    p.add_argument(
        "--naive-reads",
        type=_positive_int,
        default=_env("NAIVE_READS", "3"),
        help="reads of the naive GROUP BY per run (BENCH_NAIVE_READS, default 3)",
    )
    a = p.parse_args(argv)
    return BenchConfig(
        runs=a.runs,
        events=a.events,
        http_seconds=a.http_seconds,
        connections=a.connections,
        rates=tuple(_positive_float(r) for r in str(a.rates).split(",")),
        pace_seconds=a.pace_seconds,
        soak_seconds=a.soak_seconds,
        timeout_s=a.timeout,
        output=a.output,
        profile_dir=a.profile,
        only_ingest=a.only == "ingest_http",
        only_bus=a.only == "bus_drain",
        only_people_import=a.only == "people_import",
        only_survey_ingest=a.only == "survey_ingest",
        only_results_read=a.only == "results_read",
        survey_processes=a.survey_processes,
        results_responses=a.results_responses,
        results_reads=a.results_reads,
        naive_reads=a.naive_reads,
    )
