"""Releasing anonymous responses: a survey's waiting responses move into ``responses`` together,
in random order, once there are enough of them to hide each one (the survey's suppression
threshold), or when the survey has closed.

Why they wait: a response stored by the transaction that marked its token used would carry that
transaction's id (``xmin``) as the invitation row does, and rows stored one by one sit in the
table (``ctid``) in the order the tokens were used; either ties a response to its invitee, with
no column saying so. Released by a later transaction, in an order shuffled here, the responses
share one ``xmin`` and their order says nothing. No time is kept with them (``submitted_at`` is
NULL), and their ``response.submitted`` events carry no correlation id.

The limit: a batch of k hides each response among the k released together, no more. Whoever
knows which invitees answered between two releases learns the set of their k responses, and a
release of the threshold's minimum while few answer can be small; the suppression threshold is
the floor of k, as it is for the cells the results show.

Safe with several replicas: each survey's release takes its row ``FOR NO KEY UPDATE SKIP
LOCKED`` (a replica finding it taken skips it), and moves every pending row of the survey at
once, so two replicas never split one batch into two smaller ones. (``FOR UPDATE`` would also
block the foreign-key checks of submissions to the survey until the release commits.)"""

import asyncio
import json
import logging
import random
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg

from services.surveys.answering import documents, store
from services.surveys.answering.submission import StoredResponse, store_responses
from services.surveys.building.lifecycle import Phase
from shared.cancellation import stop_if_cancelled
from shared.settings import Settings

log = logging.getLogger(__name__)

POLL_S = 3.0
_shuffler = random.SystemRandom()


async def due(pool: asyncpg.Pool) -> list[UUID]:
    """The surveys with enough responses waiting, or closed with any."""
    rows = await pool.fetch(
        """SELECT p.survey_id FROM anonymous_pending p JOIN surveys s ON s.id = p.survey_id
           GROUP BY p.survey_id, s.suppression_threshold, s.status, s.closes_at
           HAVING count(*) >= s.suppression_threshold OR s.status = 'closed'
                  OR s.closes_at <= clock_timestamp()"""
    )
    return [row["survey_id"] for row in rows]


async def release(pool: asyncpg.Pool, survey_id: UUID) -> int:
    """Move the survey's waiting responses into ``responses``, if due; how many were moved."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {store.SURVEY_COLUMNS} FROM surveys WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED",  # noqa: S608 (no input)
            survey_id,
        )
        if row is None:  # another replica is releasing it
            return 0
        survey = store.Survey.of(row)
        pending = await conn.fetch(
            """SELECT id, version, answers::text AS answers, region_id, campaign_id
               FROM anonymous_pending WHERE survey_id = $1""",
            survey_id,
        )
        closed = survey.phase(datetime.now(UTC)) is Phase.CLOSED
        if not pending or (len(pending) < survey.suppression_threshold and not closed):
            return 0
        found = await documents.documents(conn, {(survey_id, p["version"]) for p in pending})
        responses = [
            StoredResponse(
                uuid4(),  # a new id: nothing of the waiting row is kept
                survey,
                p["version"],
                found[(survey_id, p["version"])],
                json.loads(p["answers"]),
                p["region_id"],
                p["campaign_id"],
            )
            for p in pending
        ]
        _shuffler.shuffle(responses)
        await conn.execute(
            "DELETE FROM anonymous_pending WHERE id = ANY($1::uuid[])", [p["id"] for p in pending]
        )
        await store_responses(conn, responses, submitted=False)
    return len(responses)


async def release_due(pool: asyncpg.Pool) -> int:
    released = 0
    for survey_id in await due(pool):
        released += await release(pool, survey_id)
    return released


async def keep_releasing(pool: asyncpg.Pool, settings: Settings) -> None:
    """The background loop (with the relay role): a poll every few seconds."""
    while True:
        stop_if_cancelled()
        try:
            released = await release_due(pool)
            if released:
                log.info("released %d anonymous responses", released)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("anonymous release: %s: %s; trying again", type(exc).__name__, exc)
        await asyncio.sleep(POLL_S)
