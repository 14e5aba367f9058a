"""The producing side of the load: people registered through engagement's own
``register_person``, many per transaction, on a few connections at once."""

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from services.engagement.people import PersonRegistration
from services.engagement.registration import register_person
from shared.db import DbConnection

_POSTAL_CODES = ("10013", "97214", "95116", "94607", "46204", "11201", "60608", "48201")

Write = Callable[[DbConnection, Sequence[PersonRegistration]], Awaitable[None]]


def people(count: int) -> list[PersonRegistration]:
    """Distinct people (the e-mail address is unique), built before any clock starts: parsing a
    request is not what is measured here."""
    run = secrets.token_hex(3)
    return [
        PersonRegistration(
            display_name=f"Bench person {i}",
            email=f"p{i}.{run}@bench.invalid",
            language="es" if i % 3 == 0 else "en",
            postal_code=_POSTAL_CODES[i % len(_POSTAL_CODES)],
            # Without consent: one event per person, the same rows as the HTTP load writes.
            consent_to_contact=False,
        )
        for i in range(count)
    ]


async def register(conn: DbConnection, batch: Sequence[PersonRegistration]) -> None:
    """Register a batch in one transaction (``register_person`` nests a savepoint per person)."""
    async with conn.transaction():
        for person in batch:
            await register_person(conn, person)


async def write_in_batches(
    pool: asyncpg.Pool, items: Sequence[PersonRegistration], batch: int, workers: int, write: Write
) -> None:
    """Hand ``batch``-sized slices to ``workers`` connections until every item is written."""
    slices = iter(range(0, len(items), batch))

    async def worker() -> None:
        async with pool.acquire() as conn:
            for start in slices:
                await write(conn, items[start : start + batch])

    await asyncio.gather(*(worker() for _ in range(workers)))
