"""One asyncpg pool per process, scoped to the service's own schema."""

import contextlib
import json
from collections.abc import AsyncIterator
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


@contextlib.asynccontextmanager
async def _maintenance(database_url: str) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A connection to the server's ``postgres`` database, and the quoted name of the one in
    ``database_url`` (CREATE and DROP DATABASE take no parameters)."""
    server, name = database_url.rsplit("/", 1)
    conn = await asyncpg.connect(server + "/postgres")
    try:
        yield conn, await conn.fetchval("SELECT quote_ident($1)", name.split("?", 1)[0])
    finally:
        await conn.close()


async def ensure_database(database_url: str) -> bool:
    """Create the database named in ``database_url`` if it is missing. True when created."""
    async with _maintenance(database_url) as (conn, quoted):
        try:
            await conn.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False
        return True


async def drop_database(database_url: str) -> None:
    async with _maintenance(database_url) as (conn, quoted):
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
