"""A person's consent and erasure, for operators (until the resident's and organizers' pages exist).

python -m services.engagement.people consent PERSON_ID [--grant CHANNEL:PURPOSE ...]
    [--withdraw CHANNEL:PURPOSE ...] [--by ACCOUNT_ID]
python -m services.engagement.people erase PERSON_ID
python -m services.engagement.people import FILE.csv --by ACCOUNT_ID

``import`` writes the people of a CSV file (services/engagement/people/importing.py: its columns
and rules), all of them or none, as imported by the organizer's or admin's account --by names
(the audit entry's); a file with bad rows exits 2 listing every row and column.

Connects as the serving role (CIVIC_DATABASE_URL). A change is recorded as made by the CLI, by
the account named with --by or else by the operator's login. Bad input exits 2 naming it, a
change that cannot be made exits 1; either way nothing is written."""

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from uuid import UUID

import asyncpg
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from services.engagement.accounts import store as accounts_store
from services.engagement.community.api import ORGANIZER
from services.engagement.people.changing import ConsentRefused, change_consent
from services.engagement.people.consent import ChangedBy, ConsentChange, Method, label, ordered, parse_consent
from services.engagement.people.erasing import Erasure, erase_person
from services.engagement.people.import_store import Importer, ImportRefused, import_people
from services.engagement.people.importing import parse
from shared.auth import Account, Grant
from shared.settings import get_settings

SCHEMA = "engagement"
LISTED_ROWS = 20


async def _connect() -> asyncpg.Connection:
    return await asyncpg.connect(get_settings().database_url, server_settings={"search_path": SCHEMA})


async def _consent(person_id: UUID, change: ConsentChange) -> int:
    conn = await _connect()
    try:
        async with conn.transaction():
            now = await change_consent(conn, person_id, change)
    except ConsentRefused as exc:
        print(f"error: {exc}; nothing changed", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    print(f"{person_id}: {', '.join(label(c) for c in ordered(now)) or 'no consent'}")
    return 0


async def _erase(person_id: UUID) -> int:
    conn = await _connect()
    try:
        outcome = await erase_person(conn, person_id, actor=f"operator:{getpass.getuser()}")
    finally:
        await conn.close()
    if outcome is Erasure.UNKNOWN:
        print(f"error: person {person_id} is not known", file=sys.stderr)
        return 1
    print(f"{person_id}: {outcome.value}")
    print(
        "Messages about them parked on the bus are dropped with:\n"
        f"  python -m deploy.parked erase person:{person_id}"
    )
    return 0


async def _import(name: str, data: bytes, by: UUID) -> int:
    errors = Console(stderr=True)
    conn = await _connect()
    try:
        importer = await _importer(conn, by)
        if importer is None:
            errors.print(f"error: account {by} is not an enabled organizer or admin; nothing imported")
            return 1
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=errors
        ) as bar:
            reading = bar.add_task("rows checked", total=data.count(b"\n"))
            parsed = parse(data, progress=lambda n: bar.advance(reading, n))
            bar.update(reading, completed=data.count(b"\n"))
            writing = bar.add_task("people written", total=len(parsed.people))
            imported = await import_people(
                conn, parsed, importer, file_name=name[:200], progress=lambda n: bar.advance(writing, n)
            )
    except ImportRefused as exc:
        for error in exc.errors:
            errors.print(f"{name}: {error}", markup=False, highlight=False, soft_wrap=True)
        errors.print(f"error: {len(exc.errors)} problems; nothing imported", style="red")
        return 2
    finally:
        await conn.close()
    print(
        f"{name}: {imported.created} people imported (import {imported.import_id}); "
        f"{len(imported.skipped_rows)} registered already, left as they were"
    )
    for rows, what in (
        (imported.skipped_rows, "registered already"),
        (imported.repeated_rows, "the same as an earlier row, dropped"),
    ):
        # A file imported twice skips every row: the first few say so, the count says the rest.
        for row in rows[:LISTED_ROWS]:
            print(f"  row {row}: {what}")
        if len(rows) > LISTED_ROWS:
            print(f"  and {len(rows) - LISTED_ROWS} more rows {what}")
    return 0


async def _importer(conn: asyncpg.Connection, account_id: UUID) -> Importer | None:
    """The account, when it may import (an enabled organizer or admin), as the audit names it."""
    found = await accounts_store.account(conn, account_id)
    if found is None or found["disabled"]:
        return None
    account = Account(id=account_id, grants=frozenset(Grant.parse(role) for role in found["roles"]))
    if not ORGANIZER.met_by(account):
        return None
    return Importer(account, SCHEMA, f"cli:{getpass.getuser()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.engagement.people", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    consent = commands.add_parser("consent", help="grant or withdraw consent per channel and purpose")
    consent.add_argument("person_id", type=UUID, metavar="PERSON_ID")
    consent.add_argument("--grant", action="append", default=[], metavar="CHANNEL:PURPOSE")
    consent.add_argument("--withdraw", action="append", default=[], metavar="CHANNEL:PURPOSE")
    consent.add_argument("--by", type=UUID, metavar="ACCOUNT_ID", help="the organizer's account who asked")
    erase = commands.add_parser("erase", help="erase a person from every service")
    erase.add_argument("person_id", type=UUID, metavar="PERSON_ID")
    importing = commands.add_parser("import", help="import people from a CSV file")
    importing.add_argument("file", type=Path, metavar="FILE.csv")
    importing.add_argument("--by", type=UUID, required=True, metavar="ACCOUNT_ID", help="who imports")
    args = parser.parse_args(argv)

    if args.command == "erase":
        return asyncio.run(_erase(args.person_id))
    if args.command == "import":
        try:
            data = args.file.read_bytes()
        except OSError as exc:
            parser.error(f"{args.file}: {exc.strerror}")
        return asyncio.run(_import(args.file.name, data, args.by))
    try:
        by = ChangedBy(kind="account", id=str(args.by)) if args.by else _operator()
        change = ConsentChange(
            grant=frozenset(parse_consent(c) for c in args.grant),
            withdraw=frozenset(parse_consent(c) for c in args.withdraw),
            method=Method.CLI,
            changed_by=by,
        )
    except ValueError as exc:  # pydantic's ValidationError too
        parser.error(_reason(exc))
    return asyncio.run(_consent(args.person_id, change))


def _operator() -> ChangedBy:
    return ChangedBy(kind="operator", id=getpass.getuser())


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
