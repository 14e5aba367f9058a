"""Submitting responses through the JSON API (the code path the pages use too), against the real
database and the group commit: idempotent keys, a token used once under concurrent submits,
refused answers writing nothing, the region a ZIP code places a response in, the event."""

import asyncio
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.surveys.answering.rules import invitation_hash
from tests.support.surveys import a_survey, branching_document, surveys  # noqa: F401

VALID = {"works_in_manufacturing": {"choice": "yes"}, "training": {"choices": ["welding"]}, "plan_rating": 7}


async def invite(pool: asyncpg.Pool, survey_id: uuid.UUID, person_id: uuid.UUID | None = None) -> str:
    """An invitation as invitations issuing stores it; its token."""
    token = secrets.token_urlsafe(32)
    await pool.execute(
        "INSERT INTO invitations (survey_id, person_id, token_hash, language) VALUES ($1, $2, $3, 'en')",
        survey_id,
        person_id or uuid.uuid4(),
        invitation_hash(token),
    )
    return token


async def post(client: TestClient, slug: str, **body: Any) -> tuple[int, dict[str, Any]]:
    body.setdefault("submission_key", str(uuid.uuid4()))
    body.setdefault("answers", VALID)
    response = await client.post(f"/api/v1/surveys/{slug}/responses", json=body)
    return response.status, await response.json(content_type=None)


async def responses_of(pool: asyncpg.Pool, survey_id: uuid.UUID) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM responses WHERE survey_id = $1", survey_id)


async def events_of(pool: asyncpg.Pool, survey_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        """SELECT payload::text AS payload FROM outbox
           WHERE routing_key = 'response.submitted' AND payload->'data'->>'survey_id' = $1""",
        str(survey_id),
    )
    return [json.loads(row["payload"]) for row in rows]


async def test_a_double_submit_of_one_key_stores_one_response_and_one_event(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool)
    key = str(uuid.uuid4())
    first, second = await asyncio.gather(
        post(surveys, survey["slug"], submission_key=key), post(surveys, survey["slug"], submission_key=key)
    )
    again = await post(surveys, survey["slug"], submission_key=key)
    assert sorted([first[0], second[0]]) == [200, 201]
    assert again == (200, {"status": "recorded"})
    assert len(await responses_of(pool, survey["id"])) == 1
    assert len(await events_of(pool, survey["id"])) == 1
    assert await pool.fetchval("SELECT responses FROM survey_totals WHERE survey_id = $1", survey["id"]) == 1


async def test_concurrent_submits_with_one_token_store_exactly_one_response(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool, access="invited", mode="identified")
    person = uuid.uuid4()
    token = await invite(pool, survey["id"], person)
    answers = await asyncio.gather(*(post(surveys, survey["slug"], invitation=token) for _ in range(12)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * 11
    assert {body["title"] for status, body in answers if status == 409} == {"Invitation used"}
    [response] = await responses_of(pool, survey["id"])
    assert response["person_id"] == person  # identified, by invitation
    [event] = await events_of(pool, survey["id"])
    assert event["data"]["respondent_id"] == str(person)
    # The refused ones left no key behind.
    assert await pool.fetchval("SELECT count(*) FROM submissions WHERE survey_id = $1", survey["id"]) == 1


async def test_refused_answers_are_a_422_per_question_and_write_nothing(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    survey = await a_survey(pool, access="both")
    token = await invite(pool, survey["id"])
    key = str(uuid.uuid4())
    bad = {
        "works_in_manufacturing": {"choice": "no"},
        "training": {"choices": ["welding"]},
        "comment": "a\x00b",
    }
    status, problem = await post(surveys, survey["slug"], submission_key=key, invitation=token, answers=bad)
    assert status == 422
    assert {error["field"] for error in problem["errors"]} == {
        "answers.training",  # hidden by the answer "no"
        "answers.plan_rating",  # required
        "answers.comment",  # a NUL, which jsonb cannot hold
    }
    assert await pool.fetchval("SELECT count(*) FROM submissions WHERE key = $1", uuid.UUID(key)) == 0
    assert await pool.fetchval("SELECT used FROM invitations WHERE survey_id = $1", survey["id"]) is False
    assert await responses_of(pool, survey["id"]) == []
    # The same key and token, with answers that hold, are then taken.
    assert (await post(surveys, survey["slug"], submission_key=key, invitation=token))[0] == 201


async def test_surveys_not_open_and_invitations_not_valid_are_refused(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    now = datetime.now(UTC)
    draft = await a_survey(pool, status="draft")
    scheduled = await a_survey(pool, opens_at=now + timedelta(days=3))
    closed = await a_survey(pool, status="closed")
    invited = await a_survey(pool, access="invited")
    other = await a_survey(pool, access="invited")
    foreign = await invite(pool, other["id"])
    assert (await post(surveys, draft["slug"]))[0] == 404
    assert (await post(surveys, "no-such-survey"))[0] == 404
    assert (await post(surveys, "NOT A SLUG"))[0] == 404
    assert (await post(surveys, scheduled["slug"]))[0] == 409
    assert (await post(surveys, closed["slug"]))[0] == 409
    assert (await post(surveys, invited["slug"]))[0] == 403  # no token
    assert (await post(surveys, invited["slug"], invitation=secrets.token_urlsafe(32)))[0] == 403
    assert (await post(surveys, invited["slug"], invitation=foreign))[0] == 403  # another survey's
    for survey in (draft, scheduled, closed, invited):
        assert await responses_of(pool, survey["id"]) == []
    assert await pool.fetchval("SELECT used FROM invitations WHERE survey_id = $1", other["id"]) is False


async def test_a_response_is_placed_in_the_most_specific_region_of_its_zip_and_its_event_says_so(
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    county, city, its_zip, elsewhere = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    zip_code = f"9{secrets.randbelow(10000):04d}"
    await pool.executemany(
        "INSERT INTO regions (id, name, kind, parent_id, zip_codes) VALUES ($1, $2, $3, $4, $5)",
        [
            (county, "County", "county", None, [zip_code, "94999"]),
            (city, "City", "city", county, [zip_code]),
            (its_zip, "ZIP", "zip", city, [zip_code]),  # deeper, but the postal code itself
            (elsewhere, "Elsewhere", None, None, [zip_code]),  # holds the ZIP, but is not the survey's
        ],
    )
    survey = await a_survey(pool, branching_document(with_demographics=True), region_id=county)
    answers = {
        **VALID,
        "postal_code": zip_code,
        "tenure": {"choice": "renter"},
        "race_ethnicity": {"choices": ["asian", "white"]},
    }
    assert (await post(surveys, survey["slug"], answers=answers))[0] == 201
    [response] = await responses_of(pool, survey["id"])
    assert (response["region_id"], response["postal_code"], response["person_id"]) == (city, zip_code, None)
    assert response["submitted_at"] is not None  # confidential: the time is kept
    [event] = await events_of(pool, survey["id"])
    data = event["data"]
    assert (data["region_id"], data["postal_code"], data["mode"]) == (str(city), zip_code, "confidential")
    assert data["demographics"] == {"tenure": ["renter"], "race_ethnicity": ["asian", "white"]}
    assert data["respondent_id"] is None  # public link: nobody named
