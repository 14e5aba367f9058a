"""The results as a table on the terminal and as bench/faults.json."""

import json
from pathlib import Path

from rich.table import Table

from bench.faults.suite import Result, SuiteConfig

_COUNTS = ("lost", "undelivered", "duplicate_effects", "duplicate_notices", "parked_wrongly", "crashed")


def table(results: list[Result], config: SuiteConfig) -> Table:
    view = Table(title=f"Faults under {config.rate:g} registrations/s, {config.rounds} round(s) each, "
                       f"held {config.hold_s:g}s",
                 caption="Every count must be 0. 'contact points twice' stands for duplicate notices: "
                         "nothing is sent yet. Recovery: worst round, from the fault until a write "
                         "acknowledged after it and all before it have every effect.")
    view.add_column("fault", no_wrap=True)
    for heading in ("acked", "rejected", "lost", "undelivered", "effects\ntwice",
                    "contact points\ntwice", "parked\nwrongly", "crashed", "recovery\ns"):
        view.add_column(heading, justify="right")
    for r in results:
        counts = [getattr(r, name) for name in _COUNTS]
        view.add_row(
            r.fault, str(r.acknowledged), str(r.rejected),
            *(f"[red]{n}[/]" if n else "0" for n in counts),
            "[red]never[/]" if r.recovery_s is None else f"{r.recovery_s:.1f}",
            style=None if r.ok else "bold",
        )
    return view


def write_json(results: list[Result], path: Path) -> None:
    rows = [
        {"fault": r.fault, "rounds": r.rounds, "acknowledged": r.acknowledged, "rejected": r.rejected,
         **{name: getattr(r, name) for name in _COUNTS}, "recovery_s": r.recovery_s,
         "problems": list(r.problems)}
        for r in results
    ]
    path.write_text(json.dumps(rows, indent=2) + "\n")
