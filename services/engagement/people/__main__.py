"""A person's consent and erasure, for operators (until the resident's and organizers' pages exist).

python -m services.engagement.people consent PERSON_ID [--grant CHANNEL:PURPOSE ...]
    [--withdraw CHANNEL:PURPOSE ...] [--by ACCOUNT_ID]
python -m services.engagement.people erase PERSON_ID

Connects as the serving role (CIVIC_DATABASE_URL). A change is recorded as made by the CLI, by
the account named with --by or else by the operator's login. Bad input exits 2 naming it, a
change that cannot be made exits 1; either way nothing is written."""

import argparse
import asyncio
import getpass
import sys
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from services.engagement.people.changing import ConsentRefused, change_consent
from services.engagement.people.consent import ChangedBy, ConsentChange, Method, label, ordered, parse_consent
from services.engagement.people.erasing import Erasure, erase_person
from shared.settings import get_settings

SCHEMA = "engagement"


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
    args = parser.parse_args(argv)

    if args.command == "erase":
        return asyncio.run(_erase(args.person_id))
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
