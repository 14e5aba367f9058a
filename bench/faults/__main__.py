"""`make faults`: every fault, several rounds, under a steady load; exits 1 unless every harm count
is 0 and every fault showed what it did.

    python -m bench.faults [--rounds 3] [--rate 60] [--hold 3] [--only kill:web,poison-message]
                           [--mutant inbox-off]
"""

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

from bench.faults.catalogue import FAULTS
from bench.faults.mutants import MUTANTS
from bench.faults.report import table, write_json
from bench.faults.suite import SuiteConfig, run_suite

JSON_PATH = Path(__file__).resolve().parents[1] / "faults.json"


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults", description=__doc__,
        epilog="faults:\n" + "\n".join(f"  {f.name:<28} {f.description}" for f in FAULTS),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every fault (default 3)")
    parser.add_argument("--rate", type=float, default=60.0, help="registrations per second (default 60)")
    parser.add_argument("--hold", type=float, default=3.0, help="seconds a held fault lasts (default 3)")
    parser.add_argument("--only", default=",".join(f.name for f in FAULTS),
                        help="comma-separated faults to run (default: all)")
    parser.add_argument("--json", type=Path, default=JSON_PATH, help=f"results file (default {JSON_PATH})")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    parser.add_argument("--mutant", choices=MUTANTS,
                        help="run a deliberately broken platform: the counts must then show harm")
    args = parser.parse_args()
    try:
        config = SuiteConfig(rounds=args.rounds, rate=args.rate, hold_s=args.hold,
                             faults=tuple(n.strip() for n in args.only.split(",") if n.strip()),
                             log_dir=args.logs, mutant=args.mutant)
    except ValueError as exc:
        parser.error(str(exc))

    # Piped (CI, a log file) rich would wrap the table at 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 180)
    logging.basicConfig(level=logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False)])
    # The harness's own probes meet a broker that is down on purpose: not worth a line each.
    for noisy in ("aio_pika", "aiormq"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)

    # SIGTERM unwinds like Ctrl-C, so every process, the broker and the cluster are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        results = asyncio.run(run_suite(config))
    except KeyboardInterrupt:
        console.print("interrupted; the processes, the private broker and cluster are stopped")
        sys.exit(130)
    console.print(table(results, config))
    if config.mutant is None:
        write_json(results, args.json)
        console.print(f"written {args.json}")
    for result in results:
        for problem in result.problems:
            console.print(f"[red]{result.fault}: {problem}[/]")
    sys.exit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
