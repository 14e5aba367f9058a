"""The ledger in PostgreSQL: appends in the transaction of what they record, serialised so
racing appends never fork the chain; UPDATE, DELETE and TRUNCATE refused to the services' role
by privileges and by triggers; and a byte changed in a stored entry (by the owner, who alone
can switch the triggers off) caught by verification. The tampering happens in a database of
the test's own: the run's database is shared by tests that verify its chain."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from deploy.stack import SERVICES
from services.engagement.decisions import ledger_store
from services.engagement.decisions.ledger import Author, Kind, Step
from shared.db import create_pool, drop_database, ensure_database
from shared.runtime import apply_migrations
from shared.settings import Settings

OPERATOR = Author(None, "Operator", "operator")


@dataclass
class Database:
    serving: asyncpg.Pool
    owner: asyncpg.Connection
    settings: Settings


@pytest.fixture
async def own_database(run_settings: Settings) -> AsyncIterator[Database]:
    settings = run_settings.with_database(f"civic_ledger_{uuid.uuid4().hex[:12]}")
    await ensure_database(settings.migration_database_url)
    [engagement] = [spec for spec in SERVICES if spec.name == "engagement"]
    await apply_migrations(engagement, settings)
    pool = await create_pool(settings, "engagement", max_size=4)
    owner = await asyncpg.connect(
        settings.migration_database_url, server_settings={"search_path": "engagement"}
    )
    yield Database(pool, owner, settings)
    await owner.close()
    await pool.close()
    await drop_database(settings.migration_database_url)


async def appended(pool: asyncpg.Pool, step: Step) -> dict[str, object]:
    async with pool.acquire() as conn, conn.transaction():
        return await ledger_store.append(conn, step, OPERATOR)


def a_step(kind: Kind = Kind.STAGE_CHANGED, **payload: object) -> Step:
    return Step(uuid.uuid4(), kind, payload or {"stage": "consultation"})


async def test_entries_chain_in_order_and_read_back_as_written(own_database: Database) -> None:
    pool = own_database.serving
    written = [await appended(pool, a_step(note=f"step {n}", count=n)) for n in range(1, 4)]
    async with pool.acquire() as conn:
        read = [entry async for entry in ledger_store.entries(conn, batch=2)]
        verdict = await ledger_store.verified(conn)
    assert read == written
    assert [entry["sequence"] for entry in read] == [1, 2, 3]
    assert (verdict.verifies, verdict.entries, verdict.head) == (True, 3, written[-1]["hash"])


async def test_an_entry_rolled_back_with_its_change_leaves_no_gap(own_database: Database) -> None:
    pool = own_database.serving
    await appended(pool, a_step())
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await ledger_store.append(conn, a_step(), OPERATOR)
            raise RuntimeError("the change it records failed")
    second = await appended(pool, a_step())
    assert second["sequence"] == 2
    async with pool.acquire() as conn:
        assert (await ledger_store.verified(conn)).verifies


async def test_racing_appends_never_fork_the_chain(own_database: Database) -> None:
    """Each append holds its transaction open a while after reading the head: without the lock
    two would read the same head, and the trigger or the unique prev_hash would refuse one."""
    pool = own_database.serving

    async def slow_append(n: int) -> int:
        async with pool.acquire() as conn, conn.transaction():
            entry = await ledger_store.append(conn, a_step(n=n), OPERATOR)
            await conn.execute("SELECT pg_sleep(0.05)")
            return int(str(entry["sequence"]))

    sequences = await asyncio.gather(*(slow_append(n) for n in range(12)))
    assert sorted(sequences) == list(range(1, 13))
    async with pool.acquire() as conn:
        verdict = await ledger_store.verified(conn)
    assert (verdict.verifies, verdict.entries) == (True, 12)


async def test_an_entry_that_does_not_follow_the_head_is_refused_by_the_database(
    own_database: Database,
) -> None:
    pool = own_database.serving
    first = await appended(pool, a_step())
    for sequence, prev_hash in ((3, first["hash"]), (2, "0" * 64), (1, "0" * 64)):
        with pytest.raises((asyncpg.CheckViolationError, asyncpg.UniqueViolationError)):
            await pool.execute(
                """INSERT INTO ledger_entries (sequence, decision_id, kind, who_name, role, at, payload,
                                               prev_hash, hash)
                   VALUES ($1, $2, 'created', 'Forger', 'operator', now(), '{}', $3, $4)""",
                sequence,
                uuid.uuid4(),
                prev_hash,
                "f" * 64,
            )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET who_name = 'Someone else'",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries",
    ],
)
async def test_the_services_role_may_not_change_or_remove_entries(
    own_database: Database, statement: str
) -> None:
    pool = own_database.serving
    await appended(pool, a_step())
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        await pool.execute(statement)
    # Granted the privilege back, the role is still refused, by the triggers.
    role = await pool.fetchval("SELECT current_user")
    await own_database.owner.execute(f'GRANT UPDATE, DELETE, TRUNCATE ON ledger_entries TO "{role}"')
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute(statement)
    assert await pool.fetchval("SELECT count(*) FROM ledger_entries") == 1


async def test_the_owner_too_is_refused_while_the_triggers_are_on(own_database: Database) -> None:
    await appended(own_database.serving, a_step())
    for statement in (
        "UPDATE ledger_entries SET role = 'admin'",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_entries",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await own_database.owner.execute(statement)


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("who_name", "who_name || 'x'"),
        ("role", "'admin'"),
        ("at", "at + interval '1 microsecond'"),
        ("payload", "replace(payload, '\"n\":2', '\"n\":5')"),
        ("payload", "replace(payload, ':', ': ')"),  # the same JSON, other bytes
        ("kind", "'created'"),
        ("decision_id", "gen_random_uuid()"),
        ("account_id", "gen_random_uuid()"),
        (
            "hash",
            "overlay(hash placing (CASE WHEN substr(hash, 9, 1) = 'a' THEN 'b' ELSE 'a' END) from 9 for 1)",
        ),
    ],
)
async def test_a_stored_entry_changed_by_the_owner_is_caught(
    own_database: Database, column: str, change: str
) -> None:
    pool = own_database.serving
    for n in range(1, 4):
        await appended(pool, a_step(n=n))
    owner = own_database.owner
    await owner.execute("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
    await owner.execute(f"UPDATE ledger_entries SET {column} = {change} WHERE sequence = 2")
    await owner.execute("ALTER TABLE ledger_entries ENABLE TRIGGER USER")
    async with pool.acquire() as conn:
        verdict = await ledger_store.verified(conn)
    assert (verdict.verifies, verdict.bad_at, verdict.entries) == (False, 2, 1)


async def test_an_entry_deleted_by_the_owner_is_caught(own_database: Database) -> None:
    pool = own_database.serving
    for n in range(1, 4):
        await appended(pool, a_step(n=n))
    owner = own_database.owner
    await owner.execute("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
    await owner.execute("DELETE FROM ledger_entries WHERE sequence = 2")
    await owner.execute("ALTER TABLE ledger_entries ENABLE TRIGGER USER")
    async with pool.acquire() as conn:
        verdict = await ledger_store.verified(conn)
    assert (verdict.bad_at, verdict.problem) == (2, "sequence should be 2")


def command_line(database: Database, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "CIVIC_DATABASE_URL": database.settings.database_url,
        "CIVIC_MIGRATION_DATABASE_URL": database.settings.migration_database_url,
    }
    return subprocess.run(  # our own module, arguments of the test's
        [sys.executable, "-m", "services.engagement", *args], env=env, capture_output=True, check=False
    )


async def test_the_command_line_exports_verifies_and_names_the_first_bad_entry(
    own_database: Database, tmp_path: Path
) -> None:
    for n in range(1, 4):
        await appended(own_database.serving, a_step(n=n))
    exported = command_line(own_database, "export-ledger")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.count(b"\n") == 3
    export = tmp_path / "export.jsonl"
    export.write_bytes(exported.stdout)
    good = command_line(own_database, "verify-ledger", "--file", str(export))
    assert (good.returncode, good.stdout.decode().split(",")[0]) == (0, "the ledger verifies: 3 entries")
    assert command_line(own_database, "verify-ledger").returncode == 0
    export.write_bytes(exported.stdout.replace(b'"n":2', b'"n":7'))
    bad = command_line(own_database, "verify-ledger", "--file", str(export))
    assert bad.returncode == 1
    assert "entry 2 (line 2): hash does not match the entry" in bad.stderr.decode()
    owner = own_database.owner
    await owner.execute("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
    await owner.execute("UPDATE ledger_entries SET who_name = 'Nobody' WHERE sequence = 3")
    await owner.execute("ALTER TABLE ledger_entries ENABLE TRIGGER USER")
    stored = command_line(own_database, "verify-ledger")
    assert (stored.returncode, b"entry 3" in stored.stderr) == (1, True)
