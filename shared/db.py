"""One asyncpg pool per process, scoped to the service's own schema."""

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

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


def role_of(database_url: str) -> str:
    return urlsplit(database_url).username or ""


def migration_url(settings: Settings) -> str:
    """The owner's URL, once it is sure to name the serving role's database: changing one URL
    and not the other would migrate one database and serve another. (Host and port may differ:
    a connection pooler in front of the serving role.)"""
    serving = urlsplit(settings.database_url).path[1:]
    owner = urlsplit(settings.migration_database_url).path[1:]
    if serving != owner:
        raise ValueError(
            f"CIVIC_DATABASE_URL names database {serving!r} and CIVIC_MIGRATION_DATABASE_URL {owner!r}: "
            "they must name the same one (Settings.with_database changes both)"
        )
    return settings.migration_database_url


@contextlib.asynccontextmanager
async def _maintenance(database_url: str) -> AsyncIterator[tuple[asyncpg.Connection, str, str]]:
    """A connection to the server's ``postgres`` database, the name of the one in
    ``database_url`` and that name quoted (CREATE and DROP DATABASE take no parameters)."""
    url = urlsplit(database_url)
    name = url.path[1:]
    conn = await asyncpg.connect(url._replace(path="/postgres").geturl())
    try:
        yield conn, name, await conn.fetchval("SELECT quote_ident($1)", name)
    finally:
        await conn.close()


async def ensure_database(database_url: str) -> bool:
    """Create the database if it is missing, owned by the URL's role (the migrations' owner).
    True when created. Refuses, saying what to do, one this role may not create schemas in."""
    async with _maintenance(database_url) as (conn, name, quoted):
        try:
            await conn.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            if not await conn.fetchval("SELECT has_database_privilege($1, 'CREATE')", name):
                owner = await conn.fetchval(
                    "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", name
                )
                role = role_of(database_url)
                raise PermissionError(
                    f"database {name} belongs to {owner} and {role} may not create schemas in it "
                    f"(made before the platform's roles?). If it holds only demo data, drop it: "
                    f"sudo -u postgres dropdb {quoted}; otherwise give it, its schemas and tables to {role}"
                ) from None
            return False
        return True


async def drop_database(database_url: str) -> None:
    """Drop it as its owner, ending the serving role's sessions (the owner is a member of it)."""
    async with _maintenance(database_url) as (conn, _name, quoted):
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")


async def serving_role(conn: asyncpg.Connection, settings: Settings) -> str | None:
    """The serving role's quoted name, or None when it is ``conn``'s own (one role for
    everything, as on a throwaway cluster): then there is nothing to grant."""
    serving = role_of(settings.database_url)
    if not serving or serving == await conn.fetchval("SELECT current_user"):
        return None
    return str(await conn.fetchval("SELECT quote_ident($1)", serving))


async def grant_serving_role(conn: asyncpg.Connection, role: str) -> None:
    """Let the serving role use every schema, and read and write the rows of every table and
    sequence, that the owner (``conn``'s role) creates from now on in this database.

    Default privileges rather than GRANT ... ON ALL TABLES: a grant per object as it is created,
    which a later migration can narrow for one table (REVOKE UPDATE, DELETE ON ledger) without
    the next run granting it back. Never TRUNCATE, REFERENCES or TRIGGER, nor CREATE on a schema.
    """
    async with conn.transaction():
        # Concurrent ALTER DEFAULT PRIVILEGES on one role fail with "tuple concurrently updated".
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('civic.grant_serving_role'))")
        await conn.execute(f"ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO {role}")
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
        )
        await conn.execute(f"ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT ON SEQUENCES TO {role}")
