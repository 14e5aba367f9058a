"""The floor under ``ingest_http``: the least a server can do to take a registration over HTTP and
answer only once it is durable with its event. Nothing of the platform's plumbing, only the same
work: parse and validate the body with the same pydantic model, write the same person row and the
same outbox row (the same envelope), commit, answer.

The fastest honest way on this machine is group commit: each request queues its rows and waits;
writers take whatever is queued, write it with one statement per table in one transaction, send
one NOTIFY for the batch (NOTIFY takes a cluster-wide lock at commit), commit, and only then
answer every request of the batch. Run in a process of its own, as the service's web role is:

    python -m bench.floor_ingest --port PORT --database-url URL
"""

import argparse
import asyncio
import contextlib
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import uvloop
from aiohttp import web
from pydantic import ValidationError

from services.engagement.people import PersonRegistration
from shared.contracts import Envelope, PersonRegistered

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

Pending = tuple[UUID, PersonRegistration, UUID, str, asyncio.Future[None]]


class GroupCommit:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.queue: asyncio.Queue[Pending] = asyncio.Queue()

    async def write(self, person: PersonRegistration) -> UUID:
        person_id = uuid4()
        envelope = Envelope.wrap(
            PersonRegistered(person_id=person_id, language=person.language, postal_code=person.postal_code,
                             registered_at=datetime.now(UTC)),
            producer="engagement", aggregate=f"person:{person_id}", sequence=1)
        done = asyncio.get_running_loop().create_future()
        await self.queue.put((person_id, person, envelope.id, envelope.model_dump_json(), done))
        await done
        return person_id

    async def writer(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    people = [p for _id, p, *_ in batch]
                    await conn.execute(
                        _INSERT_PEOPLE, [i for i, *_ in batch], [p.display_name for p in people],
                        [p.email for p in people], [p.phone for p in people], [p.language for p in people],
                        [p.postal_code for p in people], [p.consent_to_contact for p in people])
                    await conn.execute(
                        _INSERT_OUTBOX, [event_id for _i, _p, event_id, *_ in batch],
                        ["person.registered"] * len(batch), [body for *_, body, _done in batch],
                        [f"person:{person_id}" for person_id, *_ in batch])
            except Exception as exc:
                for *_, done in batch:
                    done.set_exception(exc)
                continue
            for *_, done in batch:
                done.set_result(None)


async def serve(port: int, database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=WRITERS, max_size=WRITERS)
    commits = GroupCommit(pool)
    writers = [asyncio.create_task(commits.writer()) for _ in range(WRITERS)]

    async def post_person(request: web.Request) -> web.Response:
        try:
            person = PersonRegistration.model_validate_json(await request.read())
        except ValidationError as exc:
            return web.json_response({"title": "Invalid", "errors": exc.errors(include_url=False)},
                                     status=422, content_type="application/problem+json")
        await commits.write(person)
        return web.json_response({"status": "accepted"}, status=202)

    app = web.Application()
    app.router.add_post("/api/v1/people", post_person)
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
