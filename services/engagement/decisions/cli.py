"""``python -m services.engagement verify-ledger [--file export.jsonl]`` and ``export-ledger``:
verify the database's chain (as the services' role: reading is all it needs) or an export, and
write the export to stdout. Exit 0 when it verifies, 1 naming the first bad entry."""

import argparse
import asyncio
import sys
from pathlib import Path

import asyncpg

from services.engagement.decisions import ledger_store
from services.engagement.decisions.ledger import Verdict, line_of, verify_export
from shared.settings import get_settings

COMMANDS = ("verify-ledger", "export-ledger")


async def _connect() -> asyncpg.Connection:
    return await asyncpg.connect(get_settings().database_url, server_settings={"search_path": "engagement"})


async def _verify_database() -> Verdict:
    conn = await _connect()
    try:
        return await ledger_store.verified(conn)
    finally:
        await conn.close()


async def _export() -> None:
    conn = await _connect()
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            async for entry in ledger_store.entries(conn):
                sys.stdout.buffer.write(line_of(entry))
    finally:
        await conn.close()


def report(verdict: Verdict) -> tuple[int, str]:
    """The exit status and what to print."""
    if verdict.verifies:
        return 0, f"the ledger verifies: {verdict.entries} entries, head {verdict.head}"
    return 1, (
        f"the ledger does not verify: entry {verdict.bad_at} (line {verdict.bad_at}): {verdict.problem}; "
        f"the {verdict.entries} before it verify, up to {verdict.head}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.engagement")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser(
        "verify-ledger", help="verify the decisions' ledger (the database's, or an export)"
    )
    verify.add_argument("--file", type=Path, help="a JSON Lines export to verify instead of the database")
    sub.add_parser("export-ledger", help="write the whole ledger as JSON Lines to stdout")
    args = parser.parse_args(argv)
    if args.command == "export-ledger":
        asyncio.run(_export())
        return 0
    verdict = verify_export(args.file.read_bytes()) if args.file else asyncio.run(_verify_database())
    status, text = report(verdict)
    print(text, file=sys.stdout if status == 0 else sys.stderr)
    return status
