"""The producing side alone, beside PostgreSQL's plain INSERT rate on the same server: how much
registering through ``register_person`` (person row, savepoint, outbox row, NOTIFY) costs
against writing a row of the same shape with nothing around it. Measured before the services
start, so nothing else reads or writes the tables meanwhile."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import uuid4

from bench.producer import people, register, write_in_batches
from bench.sandbox import Sandbox
from services.engagement.people import PersonRegistration
from shared.db import DbConnection, create_pool

# The same columns, defaults and indexes as engagement.people (a primary key and the unique
# index on lower(email)), so the baseline pays the same index maintenance per row.
_RAW_TABLE = "bench.people"
_CREATE_RAW_TABLE = f"""
CREATE SCHEMA IF NOT EXISTS bench;
CREATE TABLE IF NOT EXISTS {_RAW_TABLE} (LIKE engagement.people INCLUDING ALL)"""
_INSERT_RAW = """INSERT INTO bench.people (id, display_name, email, phone, language, postal_code,
                                        consent_to_contact)
                  VALUES ($1, $2, $3, $4, $5, $6, $7)"""

_EMPTY = f"TRUNCATE {_RAW_TABLE}, people, outbox"


@dataclass(frozen=True)
class WriteResult:
    register_rate: float  # people registered (row + event) per second, commits included
    insert_rate: float  # rows inserted with executemany per second, commits included


async def _insert_rows(conn: DbConnection, batch: Sequence[PersonRegistration]) -> None:
    async with conn.transaction():
        await conn.executemany(
            _INSERT_RAW,
            [
                (uuid4(), p.display_name, p.email, p.phone, p.language, p.postal_code, p.consent_to_contact)
                for p in batch
            ],
        )


async def measure(box: Sandbox, count: int, txn_batch: int, producers: int) -> WriteResult:
    """One run of each, on the same connections, with the same batches and concurrency."""
    pool = await create_pool(box.settings, "engagement", max_size=producers)
    try:
        await pool.execute(_CREATE_RAW_TABLE)
        await pool.execute(_EMPTY)
        # Open every connection now, not inside the first timed phase.
        await asyncio.gather(*(pool.execute("SELECT 1") for _ in range(producers)))
        loop = asyncio.get_running_loop()
        rates = []
        for write in (_insert_rows, register):
            batch = people(count)
            started = loop.time()
            await write_in_batches(pool, batch, txn_batch, producers, write)
            rates.append(count / (loop.time() - started))
        # Left empty: the relay, started next, must not find these rows and publish them.
        await pool.execute(_EMPTY)
    finally:
        await pool.close()
    return WriteResult(register_rate=rates[1], insert_rate=rates[0])
