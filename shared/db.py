"""One asyncpg pool per process, scoped to the service's own schema."""

import json
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from shared.settings import Settings

# What handlers and stores take: a plain connection or one borrowed from a pool.
DbConnection = asyncpg.Connection | PoolConnectionProxy

# Errors that mean "the database is unreachable or restarting", as opposed to a bad statement.
# Work interrupted by these is retried; the effect itself never half-happened (transactions).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    ConnectionError,
    OSError,
    TimeoutError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    settings: Settings, schema: str, *, max_size: int | None = None, **kwargs: Any
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=min(settings.pool_min_size, max_size or settings.pool_max_size),
        max_size=max_size or settings.pool_max_size,
        server_settings={"search_path": schema, "application_name": f"civic-{schema}"},
        init=_init_connection,
        **kwargs,
    )
    assert pool is not None
    return pool


async def ensure_database(database_url: str) -> bool:
    """Create the database named in ``database_url`` if it is missing. True when created."""
    target = database_url.rsplit("/", 1)
    name = target[1].split("?", 1)[0]
    conn = await asyncpg.connect(target[0] + "/postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        quoted = await conn.fetchval("SELECT quote_ident($1)", name)
        try:
            await conn.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await conn.close()


async def drop_database(database_url: str) -> None:
    target = database_url.rsplit("/", 1)
    name = target[1].split("?", 1)[0]
    conn = await asyncpg.connect(target[0] + "/postgres")
    try:
        quoted = await conn.fetchval("SELECT quote_ident($1)", name)
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        await conn.close()
