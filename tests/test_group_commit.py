"""Group commit against the real database: every caller answered only after its commit, a bad item
failing alone, and registrations committed in groups writing what one at a time would."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import hypothesis
import pytest
from hypothesis import strategies as st

from services.engagement.people import PersonRegistration
from services.engagement.registration import RegistrationRequest, register_people
from shared.db import DbConnection
from shared.group_commit import GroupCommit
from shared.migrations import Migration
from tests.support.plumbing import plumbing_pool

NOTES = Migration(
    "0001_notes.sql", "CREATE TABLE notes (id uuid PRIMARY KEY, text text NOT NULL CHECK (text <> 'bad'));"
)


@pytest.fixture(scope="module")
async def pool(run_settings: Any) -> AsyncIterator[asyncpg.Pool]:
    async for pool in plumbing_pool(run_settings, "group_commit_tests", NOTES):
        yield pool


class Notes:
    """An apply() that records the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    async def __call__(self, conn: DbConnection, items: Sequence[str]) -> list[uuid.UUID]:
        self.batches.append(len(items))
        ids = [uuid.uuid4() for _ in items]
        await conn.execute("INSERT INTO notes SELECT * FROM unnest($1::uuid[], $2::text[])", ids, list(items))
        return ids


async def test_every_caller_is_answered_after_its_commit_and_a_burst_shares_commits(
    pool: asyncpg.Pool,
) -> None:
    notes = Notes()
    writes = GroupCommit(pool, notes, max_batch=64)
    writes.start()

    async def submit_and_look(text: str) -> asyncpg.Record | None:
        note_id = await writes.submit(text)
        # Another connection sees it: it was committed before the answer.
        return await pool.fetchrow("SELECT text FROM notes WHERE id = $1", note_id)

    try:
        seen = await asyncio.gather(*(submit_and_look(f"note {n}") for n in range(200)))
    finally:
        await writes.stop()
    assert [row["text"] for row in seen if row is not None] == [f"note {n}" for n in range(200)]
    assert sum(notes.batches) == 200
    assert len(notes.batches) < 200  # queued together, committed together


async def test_a_bad_item_fails_alone_and_its_neighbours_are_written(pool: asyncpg.Pool) -> None:
    notes = Notes()
    writes = GroupCommit(pool, notes)
    writes.start()
    try:
        results = await asyncio.gather(
            *(writes.submit(text) for text in ["first", "bad", "third"]), return_exceptions=True
        )
    finally:
        await writes.stop()
    assert isinstance(results[1], asyncpg.CheckViolationError)
    written = await pool.fetch("SELECT text FROM notes WHERE id = ANY($1::uuid[])", [results[0], results[2]])
    assert sorted(r["text"] for r in written) == ["first", "third"]


async def test_a_caller_that_gives_up_before_its_turn_is_not_written(pool: asyncpg.Pool) -> None:
    release = asyncio.Event()

    async def slow(conn: DbConnection, items: Sequence[str]) -> list[None]:
        await release.wait()
        await conn.execute("INSERT INTO notes SELECT gen_random_uuid(), unnest($1::text[])", list(items))
        return [None] * len(items)

    writes = GroupCommit(pool, slow, writers=1)
    writes.start()
    try:
        first = asyncio.create_task(writes.submit("taken first"))
        await asyncio.sleep(0.1)  # the only writer is busy with it
        abandoned = asyncio.create_task(writes.submit("abandoned"))
        await asyncio.sleep(0.1)
        abandoned.cancel()
        release.set()
        await first
        await asyncio.sleep(0.2)
    finally:
        await writes.stop()
    assert await pool.fetchval("SELECT count(*) FROM notes WHERE text = 'abandoned'") == 0
    assert await pool.fetchval("SELECT count(*) FROM notes WHERE text = 'taken first'") == 1


addresses = st.sampled_from([f"{name}@example.org" for name in ("ana", "bo", "cy", "di")] + [None])


@hypothesis.settings(max_examples=25, deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
@hypothesis.given(batches=st.lists(st.lists(st.tuples(addresses, st.booleans()), max_size=8), max_size=4))
async def test_registrations_in_groups_write_what_one_at_a_time_would(
    pools: dict[str, asyncpg.Pool], batches: list[list[tuple[str | None, bool]]]
) -> None:
    run = uuid.uuid4().hex[:8]
    pool = pools["engagement"]
    expected_people: set[str] = set()
    created_ids = []
    for batch in batches:
        requests = [
            RegistrationRequest(
                PersonRegistration(
                    display_name=f"Prop {run}",
                    email=None if email is None else email.replace("@", f"+{run}@"),
                    consent_to_contact=consent and email is not None,
                )
            )
            for email, consent in batch
        ]
        async with pool.acquire() as conn, conn.transaction():
            registrations = await register_people(conn, requests)
        for request, registration in zip(requests, registrations, strict=True):
            email = request.person.email
            # One at a time: a new address (or none) registers; a known one writes nothing.
            assert registration.created == (email is None or email not in expected_people)
            if registration.created:
                created_ids.append(request.person_id)
                if email is not None:
                    expected_people.add(email)
            assert (registration.confirmation_token is not None) == (
                registration.created and request.person.consent_to_contact
            )

    people = await pool.fetch("SELECT id FROM people WHERE display_name = $1", f"Prop {run}")
    assert sorted(r["id"] for r in people) == sorted(created_ids)
    events = await pool.fetch(
        """SELECT aggregate, payload->>'sequence' AS sequence, routing_key
           FROM outbox WHERE aggregate = ANY($1)""",
        [f"person:{i}" for i in created_ids],
    )
    assert sorted(e["aggregate"] for e in events if e["routing_key"] == "person.registered") == sorted(
        f"person:{i}" for i in created_ids
    )
    assert {e["sequence"] for e in events if e["routing_key"] == "person.registered"} <= {"1"}
    assert {e["sequence"] for e in events if e["routing_key"] == "person.consent_requested"} <= {"2"}
