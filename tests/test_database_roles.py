"""The two database roles: the owner migrates, the serving role reads and writes rows and is
refused everything else; both log in with the passwords the set-up generated."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from deploy.roles import create_roles, with_password
from deploy.roles import main as roles_main
from deploy.stack import SERVICES
from shared.db import drop_database, ensure_database, role_of
from shared.migrations import Migration, migrate
from shared.runtime import apply_migrations
from shared.settings import Settings

SERVICE_SCHEMAS = [spec.name for spec in SERVICES]


@pytest.fixture
async def as_serving(run_settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(run_settings.database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def as_owner(run_settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(run_settings.migration_database_url)
    yield conn
    await conn.close()


async def test_the_roles_are_two_and_neither_is_superuser(
    run_settings: Settings, as_serving: asyncpg.Connection, as_owner: asyncpg.Connection
) -> None:
    serving, owner = role_of(run_settings.database_url), role_of(run_settings.migration_database_url)
    assert serving and owner and serving != owner
    for conn, name in ((as_serving, serving), (as_owner, owner)):
        assert await conn.fetchval("SELECT current_user") == name
        assert await conn.fetchval("SHOW is_superuser") == "off"
    assert not await as_serving.fetchval("SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user")


async def test_the_owner_owns_every_table_and_the_database(
    run_settings: Settings, as_owner: asyncpg.Connection
) -> None:
    owner = role_of(run_settings.migration_database_url)
    owners = await as_owner.fetch(
        "SELECT schemaname, tablename, tableowner FROM pg_tables WHERE schemaname = ANY($1::text[])",
        SERVICE_SCHEMAS,
    )
    assert {r["schemaname"] for r in owners} == set(SERVICE_SCHEMAS)
    assert {r["tableowner"] for r in owners} == {owner}
    assert (
        await as_owner.fetchval(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        )
        == owner
    )


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE engagement.intruder (id int)",
        "CREATE SCHEMA intruder",
        "DROP TABLE engagement.outbox",
        "ALTER TABLE engagement.outbox ADD COLUMN intruder int",
        "TRUNCATE engagement.outbox",
        "CREATE INDEX intruder ON engagement.outbox (routing_key)",
        "DELETE FROM engagement.schema_migrations",
        "SET session_replication_role = replica",  # would switch off the ledger's triggers
    ],
)
async def test_the_serving_role_is_refused(as_serving: asyncpg.Connection, statement: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_serving.execute(statement)


async def test_the_serving_role_reads_and_writes_rows(as_serving: asyncpg.Connection) -> None:
    async with as_serving.transaction():
        row_id = await as_serving.fetchval(
            "INSERT INTO engagement.outbox (event_id, routing_key, payload) VALUES ($1, 'probe', '{}')"
            " RETURNING id",
            uuid.uuid4(),
        )
        await as_serving.execute("UPDATE engagement.outbox SET published_at = now() WHERE id = $1", row_id)
        assert await as_serving.fetchval("DELETE FROM engagement.outbox WHERE id = $1 RETURNING id", row_id)


async def test_one_table_can_refuse_update_and_delete_for_good(
    run_settings: Settings, as_owner: asyncpg.Connection, as_serving: asyncpg.Connection
) -> None:
    """What an append-only ledger needs: a migration revokes, and later migrations and set-ups
    (which grant the serving role its defaults again) do not give it back."""
    schema = f"ledger_{uuid.uuid4().hex[:8]}"
    serving = role_of(run_settings.database_url)
    await migrate(
        as_owner,
        schema,
        [
            Migration("0001_entries.sql", "CREATE TABLE entries (id int PRIMARY KEY, note text);"),
            Migration("0002_append_only.sql", f"REVOKE UPDATE, DELETE, TRUNCATE ON entries FROM {serving};"),
        ],
    )
    await apply_migrations(SERVICES[0], run_settings)  # grants the defaults again
    await as_serving.execute(f"INSERT INTO {schema}.entries VALUES (1, 'decided')")
    assert await as_serving.fetchval(f"SELECT note FROM {schema}.entries") == "decided"
    for statement in (
        f"UPDATE {schema}.entries SET note = 'rewritten'",
        f"DELETE FROM {schema}.entries",
        f"TRUNCATE {schema}.entries",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await as_serving.execute(statement)


# The set-up's roles on a PostgreSQL that asks for passwords, as stock Debian does on 127.0.0.1
# (the machine's own server may trust loopback, which would hide a missing or wrong password).


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def password_server() -> Iterator[tuple[int, list[str]]]:
    """A throwaway cluster with scram-sha-256 on TCP (trust on its own socket, for psql): its
    port, and the psql command that administers it as the set-up does."""
    bin_dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    assert bin_dirs, "PostgreSQL's server programs are not installed (make test installs them)"
    root = os.geteuid() == 0
    # initdb refuses to run as root: as root, the cluster belongs to the postgres system user.
    as_postgres = ["runuser", "-u", "postgres", "--"] if root else []
    data = Path(tempfile.mkdtemp(prefix="civic-roles-"))
    if root:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        [*as_postgres, str(bin_dirs[-1] / "initdb"), "-D", str(data), "-U", "postgres", "--no-sync",
         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
        check=True, capture_output=True, cwd="/",
    )  # fmt: skip
    server = subprocess.Popen(
        [*as_postgres, str(bin_dirs[-1] / "postgres"), "-D", str(data), "-p", str(port),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data}", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
    )  # fmt: skip
    psql = [*as_postgres, "psql", "-h", str(data), "-p", str(port), "-U", "postgres", "-d", "postgres"]
    try:
        for _ in range(200):
            if subprocess.run([*psql, "-Xqc", "SELECT 1"], capture_output=True, cwd="/").returncode == 0:
                break
            assert server.poll() is None, "the throwaway PostgreSQL did not start"
            time.sleep(0.1)
        yield port, psql
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


async def test_the_set_up_gives_both_roles_passwords_that_work(
    password_server: tuple[int, list[str]],
) -> None:
    port, psql = password_server
    settings = Settings(
        database_url=f"postgresql://civic_app@127.0.0.1:{port}/postgres",
        migration_database_url=f"postgresql://civic_owner@127.0.0.1:{port}/postgres",
    )
    urls = create_roles(settings, psql)
    for url in urls.values():
        conn = await asyncpg.connect(url)
        assert await conn.fetchval("SELECT current_user") == urlsplit(url).username
        await conn.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(with_password(url, "wrong"))

    # Run again (a lost secrets file): new passwords, the old ones stop working.
    again = create_roles(settings, psql)
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(urls["database_url"])
    conn = await asyncpg.connect(again["database_url"])
    await conn.close()


async def test_without_root_the_set_up_names_the_one_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("CIVIC_DATABASE_URL", "postgresql://civic_nobody_app@127.0.0.1:5432/civic")
    monkeypatch.setenv("CIVIC_MIGRATION_DATABASE_URL", "postgresql://civic_nobody_owner@127.0.0.1:5432/civic")
    assert await roles_main() == 1
    err = capsys.readouterr().err
    assert "civic_nobody_app" in err
    assert f"sudo {os.path.relpath(sys.executable)} -m deploy.roles" in err


async def test_a_database_the_owner_may_not_build_in_is_refused_with_what_to_do(
    run_settings: Settings,
) -> None:
    """E.g. a `civic` database made by the superuser before the roles existed."""
    settings = run_settings.with_database(f"civic_foreign_{uuid.uuid4().hex[:8]}")
    assert await ensure_database(settings.migration_database_url)
    try:
        conn = await asyncpg.connect(settings.migration_database_url)
        await conn.execute(
            f"REVOKE CREATE ON DATABASE {urlsplit(settings.database_url).path[1:]} FROM CURRENT_USER"
        )
        await conn.close()
        with pytest.raises(PermissionError, match=r"may not create schemas in it.*dropdb"):
            await ensure_database(settings.migration_database_url)
    finally:
        await drop_database(settings.migration_database_url)
