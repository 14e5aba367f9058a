"""The floors under ``ingest_http`` and ``survey_ingest``: the least a server can do to take a
registration, or a survey response, over HTTP and answer only once it is durable with its event.
Nothing of the platform's plumbing, only the same work: parse and validate the body (the same
pydantic model; for a response, the survey's own answer rules), write the same rows and the same
outbox row (the same envelope), commit, answer.

The fastest honest way on this machine is group commit: each request queues its rows and waits;
writers take whatever is queued, write it with one statement per table in one transaction (a
response's tallies summed over the batch first, as the platform does, so each cell is locked
once per batch), send one NOTIFY for the batch (NOTIFY takes a cluster-wide lock at commit),
commit, and only then answer every request of the batch. Run in a process of its own, as the
service's web role is, or several on their own ports behind one nginx:

    python -m bench.floor_ingest --port PORT --database-url URL
"""

import argparse
import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar
from uuid import UUID, uuid4

import asyncpg
import uvloop
from aiohttp import web
from pydantic import ValidationError

from bench import floor_survey
from services.engagement.people import PersonRegistration
from shared.auth import SESSION_CHECK_PATH
from shared.contracts import Envelope, PersonRegistered
from shared.db import DbConnection

WRITERS = 2  # one batch commits while the next one fills
MAX_BATCH = 512

_INSERT_PEOPLE = """
    INSERT INTO engagement.people (id, display_name, email, phone, language, postal_code,
                                   consent_to_contact)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::boolean[])"""
# The event, its aggregate's sequence number (as emit() keeps it) and one NOTIFY for the batch.
_INSERT_OUTBOX = """
    WITH numbered AS (
        INSERT INTO engagement.aggregate_sequences AS s (aggregate, sequence)
        SELECT unnest($4::text[]), 1
        ON CONFLICT (aggregate) DO UPDATE SET sequence = s.sequence + 1),
    written AS (
        INSERT INTO engagement.outbox (event_id, routing_key, payload, aggregate)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]::jsonb[], $4::text[]))
    SELECT pg_notify('engagement_outbox', '')"""

Item = TypeVar("Item")
Batch = Callable[[DbConnection, Sequence[Item]], Awaitable[None]]


class GroupCommit(Generic[Item]):
    """Requests queue an item and wait; ``write_batch`` writes whatever is queued in one
    transaction, and every request of the batch is answered after its commit."""

    def __init__(self, pool: asyncpg.Pool, write_batch: Batch[Item]) -> None:
        self.pool = pool
        self.write_batch = write_batch
        self.queue: asyncio.Queue[tuple[Item, asyncio.Future[None]]] = asyncio.Queue()

    async def write(self, item: Item) -> None:
        done = asyncio.get_running_loop().create_future()
        await self.queue.put((item, done))
        await done

    async def writer(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    await self.write_batch(conn, [item for item, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    done.set_exception(exc)
                continue
            for _, done in batch:
                done.set_result(None)


Registration = tuple[UUID, PersonRegistration, UUID, str]


async def _write_people(conn: DbConnection, batch: Sequence[Registration]) -> None:
    people = [p for _id, p, *_ in batch]
    await conn.execute(
        _INSERT_PEOPLE,
        [i for i, *_ in batch],
        [p.display_name for p in people],
        [p.email for p in people],
        [p.phone for p in people],
        [p.language for p in people],
        [p.postal_code for p in people],
        [p.consent_to_contact for p in people],
    )
    await conn.execute(
        _INSERT_OUTBOX,
        [event_id for _i, _p, event_id, _body in batch],
        ["person.registered"] * len(batch),
        [body for *_, body in batch],
        [f"person:{person_id}" for person_id, *_ in batch],
    )


def _registration(person: PersonRegistration) -> Registration:
    person_id = uuid4()
    envelope = Envelope.wrap(
        PersonRegistered(
            person_id=person_id,
            language=person.language,
            postal_code=person.postal_code,
            registered_at=datetime.now(UTC),
        ),
        producer="engagement",
        aggregate=f"person:{person_id}",
        sequence=1,
    )
    return person_id, person, envelope.id, envelope.model_dump_json()


def _invalid(exc: ValidationError) -> web.Response:
    return web.json_response(
        {"title": "Invalid", "errors": exc.errors(include_url=False)},
        status=422,
        content_type="application/problem+json",
    )


async def serve(port: int, database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=WRITERS, max_size=WRITERS + 1)
    registrations = GroupCommit(pool, _write_people)
    responses = GroupCommit(pool, floor_survey.write_responses)
    surveys = floor_survey.Surveys(pool)
    writers = [
        asyncio.create_task(commits.writer())
        for commits in (registrations, responses)
        for _ in range(WRITERS)
    ]

    async def post_person(request: web.Request) -> web.Response:
        try:
            person = PersonRegistration.model_validate_json(await request.read())
        except ValidationError as exc:
            return _invalid(exc)
        await registrations.write(_registration(person))
        return web.json_response({"status": "accepted"}, status=202)

    async def post_response(request: web.Request) -> web.Response:
        try:
            submission = floor_survey.Submission.model_validate_json(await request.read())
        except ValidationError as exc:
            return _invalid(exc)
        survey = await surveys.open_one(request.match_info["slug"])
        if survey is None:
            return web.json_response(
                {"title": "Not Found"}, status=404, content_type="application/problem+json"
            )
        response = floor_survey.response(survey, submission)
        if isinstance(response, dict):
            return web.json_response(
                {"title": "Invalid", "errors": response}, status=422, content_type="application/problem+json"
            )
        await responses.write(response)
        return web.json_response({"status": "recorded"}, status=201)

    async def nobody(_request: web.Request) -> web.Response:
        return web.Response(status=200)

    app = web.Application()
    # nginx asks the upstream that owns accounts who is signed in before every request; behind
    # ingest_http_nginx's nginx that is this server, and the load is nobody's.
    app.router.add_get(SESSION_CHECK_PATH, nobody)
    app.router.add_post("/api/v1/people", post_person)
    app.router.add_post("/api/v1/surveys/{slug}/responses", post_response)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for task in writers:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*writers)
        await runner.cleanup()
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_ingest")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(args.port, args.database_url))


if __name__ == "__main__":
    main()
