"""The results as a table on the terminal and as bench/faults.json."""

import json
from pathlib import Path

from rich.table import Table

from bench.faults.suite import EVIDENCE, HARM, Result, SuiteConfig

_HEADINGS = {
    "rejected": "rejected", "unanswered": "committed\nunanswered", "redelivered": "redelivered",
    "retried": "retried", "window_hits": "crash\nwindows", "poison_parked": "poison\nparked",
    "lost": "lost", "undelivered": "undelivered", "duplicate_effects": "effects\ntwice",
    "orphan_effects": "effects\nw/o source", "parked_wrongly": "parked\nwrongly", "crashed": "crashed",
}


def table(results: list[Result], config: SuiteConfig) -> Table:
    view = Table(title=f"Faults under {config.rate:g} registrations/s, {config.rounds} round(s) each, "
                       f"held {config.hold_s:g}s" + (f", MUTANT {config.mutant}" if config.mutant else ""),
                 caption="Left of 'lost': what each fault did (each fault must show its own evidence). "
                         "From 'lost' on: harm, every count must be 0. Recovery: worst round, from the "
                         "fault until a write acknowledged after it and all before it have every effect.")
    view.add_column("fault", no_wrap=True)
    view.add_column("acked", justify="right")
    for name in (*EVIDENCE, *HARM, "recovery"):
        view.add_column(_HEADINGS.get(name, "recovery\ns"), justify="right")
    for r in results:
        view.add_row(
            r.fault, str(r.acknowledged),
            *(str(getattr(r, name)) for name in EVIDENCE),
            *(f"[red]{n}[/]" if (n := getattr(r, name)) else "0" for name in HARM),
            "[red]never[/]" if r.recovery_s is None else f"{r.recovery_s:.1f}",
            style=None if r.ok else "bold",
        )
    return view


def write_json(results: list[Result], path: Path) -> None:
    rows = [
        {"fault": r.fault, "rounds": r.rounds, "acknowledged": r.acknowledged,
         "evidence": {name: getattr(r, name) for name in EVIDENCE},
         "harm": {name: getattr(r, name) for name in HARM},
         "recovery_s": r.recovery_s, "problems": list(r.problems), "ok": r.ok}
        for r in results
    ]
    path.write_text(json.dumps(rows, indent=2) + "\n")
