import asyncio
import uuid

import asyncpg
import pytest

from shared.migrations import Migration, MigrationError, migrate
from shared.settings import Settings

MIGRATIONS = [
    Migration("0001_a.sql", "CREATE TABLE a (id int PRIMARY KEY);"),
    Migration("0002_b.sql", "CREATE TABLE b (id int PRIMARY KEY); INSERT INTO a VALUES (1);"),
]


async def _connect(settings: Settings) -> asyncpg.Connection:
    return await asyncpg.connect(settings.migration_database_url)


async def test_running_twice_applies_once(run_settings: Settings) -> None:
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    conn = await _connect(run_settings)
    try:
        assert await migrate(conn, schema, MIGRATIONS) == ["0001_a.sql", "0002_b.sql"]
        assert await migrate(conn, schema, MIGRATIONS) == []
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.a") == 1
    finally:
        await conn.close()


async def test_concurrent_runners_apply_each_file_once(run_settings: Settings) -> None:
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    conns = [await _connect(run_settings) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(c, schema, MIGRATIONS) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, 0, 2]
        assert await conns[0].fetchval(f"SELECT count(*) FROM {schema}.a") == 1
    finally:
        for c in conns:
            await c.close()


async def test_an_edited_migration_is_refused(run_settings: Settings) -> None:
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    conn = await _connect(run_settings)
    try:
        await migrate(conn, schema, MIGRATIONS[:1])
        edited = [Migration("0001_a.sql", "CREATE TABLE a (id bigint PRIMARY KEY);")]
        with pytest.raises(MigrationError, match="edited"):
            await migrate(conn, schema, edited)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_behind(run_settings: Settings) -> None:
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    conn = await _connect(run_settings)
    try:
        with pytest.raises(asyncpg.PostgresError):
            await migrate(conn, schema, [*MIGRATIONS, Migration("0003_bad.sql", "CREATE TABLE (;")])
        assert await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema) == 0
    finally:
        await conn.close()
