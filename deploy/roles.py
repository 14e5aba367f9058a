"""The platform's two PostgreSQL roles, with passwords, on this machine's PostgreSQL.

    python -m deploy.roles          (run by `make run` and `make test`)

When both roles can log in with the passwords in the secrets file, nothing is done. Otherwise,
as root, it creates (or resets) them through the local socket as the ``postgres`` system user,
with new random passwords, and writes their URLs to the secrets file (mode 0600). pg_hba.conf is
never touched: the roles log in with a password over TCP, as stock Debian asks. Without root it
says the one command to run.
"""

import asyncio
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from shared.settings import SECRETS_FILE, Settings

# The settings that hold the roles' URLs, as named in the environment and the secrets file.
KEYS = {"database_url": "CIVIC_DATABASE_URL", "migration_database_url": "CIVIC_MIGRATION_DATABASE_URL"}
# How to run this module again, as the user would type it from the checkout.
PYTHON = os.path.relpath(sys.executable)
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


async def refusal(url: str) -> str | None:
    """Why the server refuses this URL's role, or None when it logs in."""
    try:
        conn = await asyncpg.connect(urlsplit(url)._replace(path="/postgres").geturl(), timeout=10)
    except (asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidPasswordError) as exc:
        return str(exc)
    await conn.close()
    return None


def roles_sql(owner: str, owner_password: str, serving: str, serving_password: str) -> str:
    """Create or reset both roles. Names are checked and passwords are hex: safe to inline."""
    for name in (owner, serving):
        if not _ROLE_NAME.match(name):
            raise SystemExit(f"refusing role name {name!r}: use lower-case letters, digits and _")
    statements = []
    for name, password, may in (
        (owner, owner_password, "CREATEDB"),  # tests create a database per run
        (serving, serving_password, "NOCREATEDB"),
    ):
        missing = f"NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}')"
        statements += [
            f"SELECT 'CREATE ROLE {name}' WHERE {missing} \\gexec",
            f"ALTER ROLE {name} LOGIN {may} NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS "
            f"PASSWORD '{password}';",
        ]
    # The owner drops a test run's database WITH (FORCE), ending the serving role's sessions:
    # allowed to a member of that role.
    statements.append(f"GRANT {serving} TO {owner};")
    return "\n".join(statements) + "\n"


def write_secrets(urls: dict[str, str], path: Path = SECRETS_FILE) -> None:
    """Replace the roles' lines in the secrets file, keep any other line, mode 0600, owned by
    whoever owns the checkout (the developer who ran `sudo`)."""
    kept = [
        line
        for line in (path.read_text().splitlines() if path.exists() else [])
        if line.split("=", 1)[0].strip() not in KEYS.values()
    ]
    text = "\n".join([*kept, *(f"{KEYS[key]}={url}" for key, url in urls.items())]) + "\n"
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    checkout = path.parent.stat()
    os.chown(partial, checkout.st_uid, checkout.st_gid)
    partial.replace(path)


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    server = parts.hostname or ""
    if ":" in server:
        server = f"[{server}]"
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{parts.username}:{password}@{server}{port}").geturl()


# psql on this machine's PostgreSQL: through the local socket as the postgres system user (peer
# authentication), which needs root.
LOCAL_PSQL = ["runuser", "-u", "postgres", "--", "psql", "-d", "postgres"]


def create_roles(settings: Settings, psql: list[str] = LOCAL_PSQL) -> dict[str, str]:
    """Create or reset both roles with new passwords; the URLs that log in as them."""
    if shutil.which(psql[0]) is None:
        raise SystemExit(f"{psql[0]} is needed to create the database roles")
    urls = {key: getattr(settings, key) for key in KEYS}
    passwords = {key: secrets.token_hex(24) for key in KEYS}
    sql = roles_sql(
        urlsplit(urls["migration_database_url"]).username or "",
        passwords["migration_database_url"],
        urlsplit(urls["database_url"]).username or "",
        passwords["database_url"],
    )
    # The SQL on stdin, so the passwords never appear in a process list.
    done = subprocess.run(
        [*psql, "-X", "-q", "-v", "ON_ERROR_STOP=1"],
        input=sql,
        text=True,
        capture_output=True,
        cwd="/",
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"creating the database roles failed:\n{done.stderr}")
    return {key: with_password(url, passwords[key]) for key, url in urls.items()}


async def main() -> int:
    settings = Settings()
    refused = {key: await refusal(getattr(settings, key)) for key in KEYS}
    if not any(refused.values()):
        return 0
    reasons = "; ".join(f"{KEYS[key]}: {why}" for key, why in refused.items() if why)
    if os.geteuid() != 0:
        print(
            f"PostgreSQL refuses the platform's roles ({reasons}).\n"
            f"Create them once, with passwords kept in {SECRETS_FILE}, by running:\n"
            f"    sudo {PYTHON} -m deploy.roles",
            file=sys.stderr,
        )
        return 1
    urls = create_roles(settings)
    write_secrets(urls)
    still = {key: await refusal(url) for key, url in urls.items()}
    if any(still.values()):
        raise SystemExit(f"the new roles still cannot log in: {still}")
    roles = ", ".join(urlsplit(url).username or "" for url in urls.values())
    print(f"created the database roles {roles}; their URLs are in {SECRETS_FILE} (mode 0600)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
