"""Medians of the runs, each figure beside its baseline: a table on the terminal and
``bench/results.json``."""

import json
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from bench.stats import median


@dataclass(frozen=True)
class Run:
    """One run of one figure and of its baseline, measured back to back."""

    value: float
    baseline_value: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    baseline_p50_ms: float | None = None
    baseline_p99_ms: float | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        fields = {
            "value": self.value,
            "baseline_value": self.baseline_value,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "baseline_p50_ms": self.baseline_p50_ms,
            "baseline_p99_ms": self.baseline_p99_ms,
            **self.extra,
        }
        return {k: _round(v) for k, v in fields.items() if v is not None}


@dataclass
class Figure:
    name: str
    unit: str
    baseline: str  # the baseline's name; BASELINES describes it
    runs: list[Run] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # figures of the whole bench (soak growth)

    def _median(self, attribute: str) -> float | None:
        values = [getattr(r, attribute) for r in self.runs]
        return None if None in values else median(values)

    def result(self) -> dict[str, Any]:
        value, baseline = self._median("value"), self._median("baseline_value")
        assert value is not None and baseline is not None
        entry: dict[str, Any] = {"name": self.name, "value": _round(value), "unit": self.unit}
        for key in ("p50_ms", "p99_ms"):
            if (latency := self._median(key)) is not None:
                entry[key] = _round(latency)
        entry.update(baseline=self.baseline, baseline_value=_round(baseline))
        for key in ("baseline_p50_ms", "baseline_p99_ms"):
            if (latency := self._median(key)) is not None:
                entry[key] = _round(latency)
        # Each run's figure beside its own baseline, measured back to back: the median of those
        # ratios cancels more of a noisy neighbour than the ratio of two medians would.
        ratio = median([r.value / r.baseline_value for r in self.runs])
        entry.update(ratio=_ratio(ratio), runs=[r.to_json() for r in self.runs], **self.extra)
        return entry


BASELINES = {
    "floor_ingest": "aiohttp + asyncpg, same validation and rows, group commit (bench.floor_ingest)",
    "floor_ingest_nginx": "the same floor server behind the same nginx",
    "floor_bus": "minimal relay + 2 consumers, same rows, exchange, queues (bench.floor_bus)",
    "idle": "the same process, idle after its warm-up",
    "floor_people_import": "same rows and outbox rows: csv module, one COPY each (bench.people_import)",
    "floor_survey_ingest": "aiohttp + asyncpg, same answer rules and rows, group commit in one statement, "
    "as many processes behind the same nginx (bench.floor_ingest, bench.floor_survey)",
    "naive_group_by": "the same counts by GROUP BY over every response's answers (bench.naive_results)",
}


def _ratio(x: float) -> float:
    """Three decimals; two significant digits for a ratio under 0.001 (a read against a scan)."""
    return round(x, 3) if x >= 0.001 else float(f"{x:.2g}")


def _round(x: float) -> float:
    return round(x, 3) if abs(x) < 100 else round(x, 1)


def _number(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _latency(entry: dict[str, Any], prefix: str = "") -> str:
    p50, p99 = entry.get(f"{prefix}p50_ms"), entry.get(f"{prefix}p99_ms")
    return "" if p50 is None or p99 is None else f"{p50:.0f}/{p99:.0f}"


def print_table(results: list[dict[str, Any]], console: Console) -> None:
    runs = len(results[0]["runs"])
    table = Table(
        title=f"medians of {runs} runs, each beside its baseline (latencies in ms)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for heading in ("figure", "unit", "median", "p50/p99", "baseline", "median", "p50/p99", "ratio"):
        name_column = heading in ("figure", "baseline")
        table.add_column(
            heading, justify="left" if name_column or heading == "unit" else "right", no_wrap=name_column
        )
    for r in results:
        table.add_row(
            r["name"],
            r["unit"],
            _number(r["value"]),
            _latency(r),
            r["baseline"],
            _number(r["baseline_value"]),
            _latency(r, "baseline_"),
            f"{r['ratio']:.2f}" if r["ratio"] >= 0.01 else f"{r['ratio']:.1e}",
        )
    console.print(table)
    for name in dict.fromkeys(r["baseline"] for r in results):
        console.print(f"  {name}: {BASELINES[name]}")


def print_cpu(cpu_ms: dict[str, dict[str, float]], console: Console) -> None:
    """CPU milliseconds per event and party in the drains, the bus beside its floor."""
    table = Table(title="where the CPU goes: ms per event in the drains (medians)", box=box.SIMPLE_HEAD)
    table.add_column("party")
    table.add_column("ms/event", justify="right")
    for party, ms in cpu_ms.items():
        table.add_row(party, f"{ms:.3f}")
    console.print(table)


def machine(postgres_version: str, rabbitmq_version: str) -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "postgresql": postgres_version,
        "rabbitmq": rabbitmq_version,
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
