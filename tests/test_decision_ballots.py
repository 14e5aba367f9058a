"""A resident ballot decided by its survey, across surveys and engagement against the real
PostgreSQL: responses to the ballot's survey, the organizer closing it (survey.closed with the
final tally in surveys' outbox, in the closing transaction), engagement keeping that tally (once,
whatever redelivers it), and the ballot's outcome computed from it, never typed in; refusals
while the survey is open, for a question or option it does not have, and for a tally that
anonymous responses still waiting for their release would change."""

import json
import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.engagement.decisions import handlers
from services.engagement.decisions.ballots import BallotRefused, Count, Tally, ballot_result
from services.engagement.decisions.models import BallotChoice, Outcome
from shared.contracts import ResponseSubmitted, SurveyClosed, parse_message
from tests import test_accounts
from tests.support.surveys import a_survey, surveys  # noqa: F401
from tests.test_campaigns import an_organisation
from tests.test_competitions import Panel
from tests.test_decisions import ASSESSMENT, a_decision, a_region
from tests.test_organisations import as_
from tests.test_survey_answering import post

engagement = test_accounts.engagement

BALLOT = {
    "main_language": "en",
    "languages": ["en"],
    "title": {"en": "Should the Northside site be rezoned?"},
    "sections": [
        {
            "title": {"en": "The ballot"},
            "questions": [
                {
                    "id": "rezone",
                    "type": "single_choice",
                    "prompt": {"en": "Rezone the Northside site to mixed use?"},
                    "options": [{"id": "yes", "label": {"en": "Yes"}}, {"id": "no", "label": {"en": "No"}}],
                    "other": {"en": "Something else"},
                },
                {"id": "why", "type": "short_text", "prompt": {"en": "Why?"}},
            ],
        }
    ],
}


def test_a_ballot_approves_only_with_more_for_than_everything_else() -> None:
    survey_id = uuid.uuid4()

    def tally(yes: int, no: int, other: int, skipped: int, pending: int = 0) -> Tally:
        counts = (Count("yes", "Yes", yes), Count("no", "No", no), Count("@other", "Else", other))
        return Tally(
            survey_id,
            yes + no + other + skipped,
            pending,
            {"rezone": ("Rezone?", (*counts, Count("@skipped", "", skipped)))},
        )

    choice = BallotChoice(question="rezone", approves="yes")
    assert ballot_result(tally(5, 3, 1, 9), choice)[0] is Outcome.APPROVED  # skips count for neither
    assert ballot_result(tally(4, 3, 1, 0), choice)[0] is Outcome.REJECTED  # a tie with the rest
    assert (
        ballot_result(tally(2, 3, 0, 0), BallotChoice(question="rezone", approves="no"))[0]
        is Outcome.APPROVED
    )
    _, computed = ballot_result(tally(5, 3, 1, 2), choice)
    assert (computed["for"], computed["against"], computed["responses"]) == (5, 4, 11)
    for bad, field in (
        (BallotChoice(question="other", approves="yes"), "question"),
        (BallotChoice(question="rezone", approves="maybe"), "approves"),
    ):
        with pytest.raises(BallotRefused) as refused:
            ballot_result(tally(1, 0, 0, 0), bad)
        assert refused.value.field == field
    with pytest.raises(BallotRefused, match="2 anonymous responses were still waiting"):
        ballot_result(tally(5, 0, 0, 0, pending=2), choice)


async def _events(pool: asyncpg.Pool, routing_key: str, survey_id: uuid.UUID) -> list[Any]:
    rows = await pool.fetch(
        """SELECT payload::text AS payload FROM outbox
           WHERE routing_key = $1 AND payload->'data'->>'survey_id' = $2 ORDER BY id""",
        routing_key,
        str(survey_id),
    )
    return [parse_message(row["payload"].encode()) for row in rows]


async def test_a_resident_ballot_is_computed_from_its_survey_closing_tally(
    engagement: TestClient,
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    survey = await a_survey(pools["surveys"], BALLOT, organisation_id=uuid.UUID(organisation_id))
    body = a_decision(
        organisation_id, await a_region(pool), body="resident_ballot", method="resident_ballot", members=[]
    )
    decision = (await (await engagement.post("/api/v1/decisions", json=body, headers=organizer)).json())[
        "decision"
    ]
    panel = Panel(engagement, organizer, decision["id"])

    async def call(
        suffix: str, payload: dict[str, Any], status: int = 200, method: str = "POST"
    ) -> dict[str, Any]:
        return await panel.call(method, suffix, payload, status)

    await call("/stage", {"to": "consultation"})
    await call("/consultations", {"kind": "survey", "target_id": str(survey["id"])})
    assert (await call("/consultations", {"kind": "meeting", "target_id": str(uuid.uuid4())}, 422))["errors"][
        0
    ]["field"] == "kind"
    for choice in ["yes"] * 4 + ["no"] * 2 + [None]:
        answers = {"rezone": {"choice": choice}} if choice else {"rezone": {"other": "A park"}}
        status, answered = await post(surveys, survey["slug"], answers=answers)
        assert status == 201, answered
    submitted = await _events(pools["surveys"], "response.submitted", survey["id"])
    async with pool.acquire() as conn, conn.transaction():
        await handlers.on_responses_submitted(conn, [(event, envelope) for envelope, event in submitted])
    assert all(isinstance(event, ResponseSubmitted) for _, event in submitted)
    await call("/stage", {"to": "deliberation"})
    await call("/assessment", ASSESSMENT, method="PUT")
    await call(
        "/consultations/close",
        {"kind": "survey", "target_id": str(survey["id"]), "what_we_heard": "Most said yes."},
    )
    used = [{"kind": "survey", "target_id": str(survey["id"]), "how_used": "It decided."}]
    ballot = {
        "ballot": {"question": "rezone", "approves": "yes"},
        "rationale": "The residents voted.",
        "input_used": used,
    }
    assert "close it there first" in (await call("/outcome", ballot, 409))["detail"]
    typed = await call("/outcome", {**ballot, "outcome": "approved"}, 422)
    assert (
        typed["detail"] == "a resident ballot's outcome is computed from its survey's tally, never typed in"
    )

    closing = await surveys.post(
        f"/api/v1/surveys/{survey['id']}/close", headers=as_(f"organizer:{organisation_id}")
    )
    assert closing.status == 200, await closing.text()
    [(envelope, closed)] = await _events(pools["surveys"], "survey.closed", survey["id"])
    assert isinstance(closed, SurveyClosed)
    assert (closed.responses, closed.pending) == (7, 0)
    [question] = closed.questions  # the short text is no single choice
    assert [(o.option, o.label, o.responses) for o in question.options] == [
        ("yes", "Yes", 4),
        ("no", "No", 2),
        ("@other", "Something else", 1),
    ]
    for _ in range(2):  # a redelivery keeps nothing twice
        async with pool.acquire() as conn, conn.transaction():
            await handlers.on_survey_closed(closed, conn, envelope)
    wrong = await call("/outcome", {**ballot, "ballot": {"question": "rezone", "approves": "maybe"}}, 422)
    assert wrong["errors"] == [{"field": "approves", "message": "not an option of that question"}]
    record = await call("/outcome", ballot)
    assert record["decision"]["outcome"] == "approved"  # 4 for, 3 against (2 no, 1 other)
    assert (record["ballot"]["for"], record["ballot"]["against"]) == (4, 3)
    outcome = record["entries"][-1]
    assert outcome["kind"] == "outcome_recorded" and outcome["payload"]["ballot"]["counts"] == [
        {"option": "yes", "label": "Yes", "responses": 4},
        {"option": "no", "label": "No", "responses": 2},
        {"option": "@other", "label": "Something else", "responses": 1},
        {"option": "@skipped", "label": "", "responses": 0},
    ]
    assert record["votes"] == [] and record["ledger"]["verifies"] is True
    [recorded] = await pool.fetch(
        "SELECT payload::text AS payload FROM outbox WHERE aggregate = $1", f"decision:{decision['id']}"
    )
    assert json.loads(recorded["payload"])["data"]["outcome"] == "approved"
