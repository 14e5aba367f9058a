"""Invited anonymous responses leave nothing in the surveys schema that links one to its invitee:
after several invitees answer (in an order the test knows) and the release runs, every column
of every table is read, and so are the orders and transaction ids the tables keep."""

import asyncio
import json
import secrets
import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.surveys.answering import release
from services.surveys.answering.rules import invitation_hash
from tests.support.surveys import a_survey, surveys  # noqa: F401

INVITEES = 12  # the release's shuffle then matches the order of use once in 12! (about 5e8)


def answers(n: int) -> dict[str, Any]:
    """Each invitee's answers differ, so the test (and only the test) can tell whose a response is."""
    return {"works_in_manufacturing": {"choice": "no"}, "plan_rating": n % 11, "comment": f"invitee {n}"}


async def every_value(pool: asyncpg.Pool) -> dict[str, list[str]]:
    """Every row of every table of the surveys schema, as text: table -> rows."""
    tables = await pool.fetch(
        """SELECT DISTINCT table_name FROM information_schema.columns
           WHERE table_schema = 'surveys' ORDER BY table_name"""
    )
    found = {}
    for table in tables:
        name = table["table_name"]
        rows = await pool.fetch(f'SELECT t::text AS row FROM surveys."{name}" t')
        found[name] = [row["row"] for row in rows]
    return found


async def test_no_table_column_order_or_transaction_links_an_anonymous_response_to_its_invitee(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool, mode="anonymous", access="invited", threshold=INVITEES)
    people = [uuid.uuid4() for _ in range(INVITEES)]
    # Registered people, as invitees are: surveys knows who may be invited, answering or not.
    await pool.executemany(
        "INSERT INTO respondents (person_id, language, registered_at) VALUES ($1, 'en', now())",
        [(person,) for person in people],
    )
    tokens = [secrets.token_urlsafe(32) for _ in people]
    invitations = [
        await pool.fetchval(
            """INSERT INTO invitations (survey_id, person_id, token_hash, language)
               VALUES ($1, $2, $3, 'en') RETURNING id""",
            survey["id"],
            person,
            invitation_hash(token),
        )
        for person, token in zip(people, tokens, strict=True)
    ]
    used_in_order = list(range(INVITEES))
    secrets.SystemRandom().shuffle(used_in_order)
    for n in used_in_order:
        answered = await surveys.post(
            f"/api/v1/surveys/{survey['slug']}/responses",
            json={"submission_key": str(uuid.uuid4()), "invitation": tokens[n], "answers": answers(n)},
        )
        assert answered.status == 201
    assert await pool.fetchval("SELECT count(*) FROM responses WHERE survey_id = $1", survey["id"]) == 0
    assert await release.release_due(pool) >= INVITEES

    responses = await pool.fetch(
        """SELECT id, ctid::text AS ctid, xmin::text AS xmin, answers->>'comment' AS comment
           FROM responses WHERE survey_id = $1 ORDER BY ctid""",
        survey["id"],
    )
    whose = [int(row["comment"].removeprefix("invitee ")) for row in responses]
    assert sorted(whose) == list(range(INVITEES))  # every one released, once
    assert (
        await pool.fetchval("SELECT count(*) FROM anonymous_pending WHERE survey_id = $1", survey["id"]) == 0
    )

    # No table but invitations holds a person, a token's hash or an invitation's id (and
    # respondents, the people who may be invited, holds the people, as it did before).
    secrets_of_invitees = [str(p) for p in people] + [str(i) for i in invitations]
    secrets_of_invitees += [invitation_hash(t).hex() for t in tokens]  # type: ignore[union-attr]
    for table, rows in (await every_value(pool)).items():
        if table in ("invitations", "respondents"):
            continue
        for row in rows:
            assert not any(secret in row for secret in secrets_of_invitees), f"{table} holds {row}"

    # No time is kept with them: every timestamp or date column of responses is null.
    timed = await pool.fetch(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = 'surveys' AND table_name = 'responses'
             AND (data_type LIKE 'timestamp%' OR data_type = 'date')"""
    )
    assert timed, "responses has no time column: the check below would check nothing"
    for column in timed:
        name = column["column_name"]
        kept = await pool.fetchval(
            f'SELECT count(*) FROM responses WHERE survey_id = $1 AND "{name}" IS NOT NULL',
            survey["id"],
        )
        assert kept == 0, name

    # Neither their place in the table nor their ids follow the order the tokens were used.
    assert whose != used_in_order
    by_id = sorted(responses, key=lambda row: row["id"])
    assert [int(row["comment"].removeprefix("invitee ")) for row in by_id] != used_in_order
    # Nor were they written by a transaction that used a token.
    invitation_xmins = {
        row["xmin"]
        for row in await pool.fetch(
            "SELECT xmin::text AS xmin FROM invitations WHERE survey_id = $1", survey["id"]
        )
    }
    assert len(invitation_xmins) == INVITEES  # each token used in a transaction of its own, here
    assert not invitation_xmins & {row["xmin"] for row in responses}

    # Their events name nobody.
    events = await pool.fetch(
        """SELECT payload::text AS payload FROM outbox
           WHERE routing_key = 'response.submitted' AND payload->'data'->>'survey_id' = $1""",
        str(survey["id"]),
    )
    assert len(events) == INVITEES
    for event in events:
        assert not any(secret in event["payload"] for secret in secrets_of_invitees)
        envelope = json.loads(event["payload"])
        assert envelope["data"]["respondent_id"] is None
        assert envelope["correlation_id"] is None  # a request id would join the request logs


async def pend(client: TestClient, slug: str, n: int) -> None:
    for k in range(n):
        answered = await client.post(
            f"/api/v1/surveys/{slug}/responses",
            json={"submission_key": str(uuid.uuid4()), "answers": answers(k)},
        )
        assert answered.status == 201


async def test_fewer_than_the_threshold_wait_until_enough_or_until_the_survey_closes(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool, mode="anonymous", threshold=3)
    await pend(surveys, survey["slug"], 2)
    assert await release.release(pool, survey["id"]) == 0  # two hide nobody among three
    await pend(surveys, survey["slug"], 1)
    assert await release.release(pool, survey["id"]) == 3
    assert await pool.fetchval("SELECT responses FROM survey_totals WHERE survey_id = $1", survey["id"]) == 3
    await pend(surveys, survey["slug"], 1)
    assert await release.release(pool, survey["id"]) == 0
    await pool.execute("UPDATE surveys SET status = 'closed' WHERE id = $1", survey["id"])
    assert survey["id"] in await release.due(pool)
    assert await release.release(pool, survey["id"]) == 1  # closed: the last one goes too
    assert await pool.fetchval("SELECT count(*) FROM responses WHERE survey_id = $1", survey["id"]) == 4


async def test_two_replicas_releasing_at_once_never_split_a_batch(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool, mode="anonymous", threshold=4)
    await pend(surveys, survey["slug"], 6)
    moved = await asyncio.gather(*(release.release(pool, survey["id"]) for _ in range(2)))
    assert sorted(moved) == [0, 6]
    assert await pool.fetchval("SELECT count(*) FROM responses WHERE survey_id = $1", survey["id"]) == 6
