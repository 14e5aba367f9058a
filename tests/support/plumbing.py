"""A schema of a test module's own with the plumbing tables (outbox, inbox...) and its extras,
migrated as the owner and used through the serving role, as the services do."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.contracts import EVENT_TYPES
from shared.db import create_pool
from shared.migrations import Migration, migrate, plumbing
from shared.settings import Settings
from tests.support.events import ThingHappened


async def plumbing_pool(settings: Settings, schema: str, *extra: Migration) -> AsyncIterator[asyncpg.Pool]:
    conn = await asyncpg.connect(settings.migration_database_url)
    try:
        await migrate(conn, schema, [*plumbing(), *extra])
    finally:
        await conn.close()
    pool = await create_pool(settings, schema)
    yield pool
    await pool.close()


@pytest.fixture(autouse=True)
def thing_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    """Receivers know the tests' own event while a test runs (import this fixture to use it)."""
    monkeypatch.setitem(EVENT_TYPES, (ThingHappened.type, ThingHappened.version), ThingHappened)
