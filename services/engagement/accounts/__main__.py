"""Accounts from the command line.

    python -m services.engagement.accounts create-admin --email EMAIL [--name NAME]

The password is asked at the terminal (twice), or read as the first line of standard input
when that is not a terminal; never from the command line, which other users of the machine can
read (ps). Connects as the serving role (CIVIC_DATABASE_URL)."""

import argparse
import asyncio
import getpass
import sys

import asyncpg
from pydantic import ValidationError

from services.engagement.accounts.admins import admin_account, create_admin
from shared.settings import get_settings


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise SystemExit("the two passwords differ; nothing was created")
    return first


async def _create(email: str, name: str, password: str) -> int:
    try:
        account = admin_account(email, name, password)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            print(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}", file=sys.stderr)
        return 1
    conn = await asyncpg.connect(get_settings().database_url, server_settings={"search_path": "engagement"})
    try:
        created = await create_admin(conn, account)
    finally:
        await conn.close()
    if created is None:
        print(f"an account with the address {account.email} exists already; nothing changed", file=sys.stderr)
        return 1
    print(f"admin {account.email} created (account {created}); sign in at /login")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.engagement.accounts", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create an admin account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="Admin", help="display name (default: Admin)")
    args = parser.parse_args(argv)
    return asyncio.run(_create(args.email, args.name, read_password()))


if __name__ == "__main__":
    sys.exit(main())
