"""Housekeeping: published outbox rows and old inbox rows are deleted once past their retention.

An inbox row must outlive any redelivery of its event (a relay re-publishing after a crash, a
message held through an outage), which takes seconds to hours; the default keeps it 30 days.
A parked message replayed later was never handled, so it has no inbox row to lose.
"""

import asyncio
import logging
from datetime import timedelta

import asyncpg

from shared.cancellation import stop_if_cancelled
from shared.settings import Settings

log = logging.getLogger(__name__)

# Deleted a chunk at a time, so a large backlog never holds long locks or one huge transaction.
CHUNK = 5_000


async def purge_once(pool: asyncpg.Pool, settings: Settings) -> tuple[int, int]:
    """Delete what is past retention; returns (outbox rows, inbox rows) deleted."""
    outbox = await _delete_in_chunks(
        pool,
        """DELETE FROM outbox WHERE id IN (
               SELECT id FROM outbox WHERE published_at < now() - $1::interval LIMIT $2)""",
        timedelta(seconds=settings.outbox_retention_s),
    )
    inbox = await _delete_in_chunks(
        pool,
        """DELETE FROM inbox WHERE ctid IN (
               SELECT ctid FROM inbox WHERE handled_at < now() - $1::interval LIMIT $2)""",
        timedelta(seconds=settings.inbox_retention_s),
    )
    return outbox, inbox


async def _delete_in_chunks(pool: asyncpg.Pool, sql: str, older_than: timedelta) -> int:
    total = 0
    while True:
        status = await pool.execute(sql, older_than, CHUNK)
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < CHUNK:
            return total


async def keep_tidy(pool: asyncpg.Pool, settings: Settings, schema: str) -> None:
    """Purge now and then, forever; a failed round (database away) is simply tried next time."""
    while True:
        stop_if_cancelled()
        try:
            outbox, inbox = await purge_once(pool, settings)
            if outbox or inbox:
                log.info(
                    "%s: deleted %d published outbox rows and %d inbox rows past retention",
                    schema,
                    outbox,
                    inbox,
                )
        except Exception as exc:
            log.warning("%s: retention round failed: %s: %s", schema, type(exc).__name__, exc)
        await asyncio.sleep(settings.retention_every_s)
