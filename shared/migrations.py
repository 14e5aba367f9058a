"""Ordered SQL migrations per service schema, recorded in ``<schema>.schema_migrations``.

Safe to run twice and from several processes at once: a transaction-scoped advisory lock per
schema serialises runners, and each file is applied in the same transaction that records it.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

PLUMBING_DIR = Path(__file__).parent / "sql"
_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def plumbing() -> list[Migration]:
    """The tables every service schema has: outbox and inbox."""
    return [Migration(f"plumbing/{p.name}", p.read_text()) for p in sorted(PLUMBING_DIR.glob("*.sql"))]


def discover(service_dir: Path) -> list[Migration]:
    """The plumbing first, then the service's own files in order."""
    return plumbing() + [Migration(p.name, p.read_text()) for p in sorted(service_dir.glob("*.sql"))]


async def migrate(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply what is missing; return the names applied now."""
    if not _SCHEMA_NAME.match(schema):
        raise MigrationError(f"invalid schema name {schema!r}")
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"civic.migrate.{schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(f"SET LOCAL search_path TO {schema}")
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            r["name"]: r["checksum"] for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")
        }
        for migration in migrations:
            if migration.name in done:
                if done[migration.name] != migration.checksum:
                    raise MigrationError(
                        f"{schema}: migration {migration.name} was edited after it was applied; "
                        "add a new migration instead"
                    )
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                migration.name,
                migration.checksum,
            )
            applied_now.append(migration.name)
    return applied_now
