"""Decisions in engagement, against the real PostgreSQL: a decision proposed, consulted on
(participation counted from responses surveys announced), assessed and recorded by named votes,
each step a ledger entry written with it (and the outcome with decision.recorded in the
outbox); refusals as problems (no assessment yet, votes that do not carry the outcome, an open
consultation, a ballot typed in), nothing half-written; who may write; the public reading."""

import json
import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.engagement import demo
from services.engagement.decisions import demo as decisions_demo
from services.engagement.decisions import handlers, store
from shared import demo_ids
from shared.contracts import Envelope, ResponseSubmitted
from tests import test_accounts
from tests.test_campaigns import a_county, an_organisation
from tests.test_organisations import as_, unique

engagement = test_accounts.engagement

RESIDENTS = [("owner", 3), ("renter", 7)]  # the region: 30 % own, 70 % rent


async def a_region(pool: asyncpg.Pool) -> uuid.UUID:
    region = await a_county(pool, 1000, [])
    for band, tenths in RESIDENTS:
        await pool.execute(
            """INSERT INTO baselines (region_id, dimension, band, estimate, source_table, source_year)
               VALUES ($1, 'tenure', $2, $3, 'B25003', 2024)""",
            region,
            band,
            tenths * 100,
        )
    return region


def a_decision(organisation_id: str, region_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    return {
        "organisation_id": organisation_id,
        "region_id": str(region_id),
        "title": unique("Rezone the Northside industrial site"),
        "site": "Northside industrial site",
        "description": "From heavy industry to mixed use with 400 homes.",
        "document_links": ["https://example.org/staff-report.pdf"],
        "body": "city_council",
        "method": "majority",
        "members": [
            {"name": "Rosa Díaz", "seat": "District 1"},
            {"name": "Tom Chen", "seat": "District 2"},
            {"name": "Ana Ruiz", "seat": "District 3"},
        ],
        **changes,
    }


ASSESSMENT = {
    "who_pays": "The city's general fund for the new streets; the developer for the park.",
    "who_benefits": "Renters in Northside, through 80 affordable homes.",
    "who_decides": "The city council, by majority, after a survey and a public hearing.",
    "groups": [{"group": "Renters", "benefits": "Affordable homes", "burdens": "Construction noise"}],
    "mitigations": "Construction hours limited to 8-17.",
    "narrative": "The site has been idle for a decade.",
}


def a_response(survey_id: uuid.UUID, **demographics: tuple[str, ...]) -> tuple[ResponseSubmitted, Envelope]:
    event = ResponseSubmitted(
        response_id=uuid.uuid4(),
        survey_id=survey_id,
        organisation_id=uuid.uuid4(),
        survey_version=1,
        mode="anonymous",
        demographics=demographics,
    )
    return event, Envelope.wrap(event, producer="surveys")


async def responses(pool: asyncpg.Pool, survey_id: uuid.UUID, tenures: list[str]) -> None:
    """As the consumer applies them (once per response: one of them arrives twice)."""
    events = [
        a_response(survey_id, tenure=(tenure,), race_ethnicity=("asian", "white")) for tenure in tenures
    ]
    async with pool.acquire() as conn, conn.transaction():
        await handlers.on_responses_submitted(conn, [*events, events[0]])


async def test_a_response_is_kept_by_its_bands_only(pools: dict[str, asyncpg.Pool]) -> None:
    survey_id = uuid.uuid4()
    event, _ = a_response(survey_id, tenure=("renter",), race_ethnicity=("asian", "white"), age=("nonsense",))
    assert handlers.bands_of(event) == {"tenure": "renter", "race_ethnicity": "two_or_more"}
    await responses(pools["engagement"], survey_id, ["owner", "renter"])
    counts = await store.band_counts(pools["engagement"], [survey_id])
    assert sorted((r["dimension"], r["band"], r["respondents"]) for r in counts) == [
        ("race_ethnicity", "two_or_more", 2),
        ("tenure", "owner", 1),
        ("tenure", "renter", 1),
    ]


async def test_a_decision_from_proposal_to_outcome_is_in_the_ledger_step_by_step(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    region = await a_region(pool)
    created = await engagement.post(
        "/api/v1/decisions", json=a_decision(organisation_id, region), headers=organizer
    )
    assert created.status == 201, await created.text()
    decision_id = (await created.json())["decision"]["id"]
    path = f"/api/v1/decisions/{decision_id}"
    survey_id = uuid.uuid4()

    async def post(
        suffix: str, body: dict[str, Any], status: int = 200, method: str = "POST"
    ) -> dict[str, Any]:
        answer = await engagement.request(method, path + suffix, json=body, headers=organizer)
        assert answer.status == status, await answer.text()
        return dict(await answer.json())

    await post("/stage", {"to": "consultation"})
    await post("/consultations", {"kind": "survey", "target_id": str(survey_id)})
    await responses(pool, survey_id, ["owner"] * 6 + ["renter"] * 6)
    await responses(pool, uuid.uuid4(), ["renter"])  # another survey's: not counted
    await post("/stage", {"to": "deliberation"})
    votes = [{"member": 1, "vote": "for"}, {"member": 2, "vote": "against"}, {"member": 3, "vote": "for"}]
    recording = {
        "outcome": "approved",
        "votes": votes,
        "rationale": "Homes are needed; the park answers the survey.",
        "input_used": [{"kind": "survey", "target_id": str(survey_id), "how_used": "The park was added."}],
    }
    refused = await post("/outcome", recording, 409)
    assert refused["detail"] == "an equity impact assessment is required before a decision can be recorded"
    await post("/assessment", ASSESSMENT, method="PUT")
    refused = await post("/outcome", recording, 409)
    assert "close every linked consultation" in refused["detail"]
    closing = {"kind": "survey", "target_id": str(survey_id), "what_we_heard": "Residents asked for a park."}
    await post("/consultations/close", closing)
    wrong = {**recording, "outcome": "rejected"}
    assert (await post("/outcome", wrong, 409))[
        "detail"
    ] == "the votes do not carry this outcome under the decision's method"
    assert (
        "one vote for each member"
        in (await post("/outcome", {**recording, "votes": votes[:2]}, 409))["detail"]
    )
    recorded = await post("/outcome", recording)

    public = await engagement.get(path)  # nobody signed in
    assert public.status == 200
    record = await public.json()
    assert record == recorded
    assert record["decision"]["stage"] == "decided" and record["decision"]["outcome"] == "approved"
    assert [s["stage"] for s in record["stages"]] == ["proposed", "consultation", "deliberation", "decided"]
    assert [(v["name"], v["vote"]) for v in record["votes"]] == [
        ("Rosa Díaz", "for"),
        ("Tom Chen", "against"),
        ("Ana Ruiz", "for"),
    ]
    [consultation] = record["consultations"]
    assert (consultation["participants"], consultation["how_used"]) == (12, "The park was added.")
    [tenure] = record["representativeness"]
    assert [
        (b["band"], b["respondent_percent"], b["population_percent"], b["under"]) for b in tenure["bands"]
    ] == [
        ("owner", 50, 30, False),
        ("renter", 50, 70, True),
    ]
    kinds = [entry["kind"] for entry in record["entries"]]
    assert kinds == [
        "created",
        "stage_changed",
        "consultation_linked",
        "stage_changed",
        "assessment_written",
        "participation_counted",
        "vote_recorded",
        "vote_recorded",
        "vote_recorded",
        "outcome_recorded",
    ]
    counted = record["entries"][5]["payload"]
    assert counted == {
        "kind": "survey",
        "target_id": str(survey_id),
        "participants": 12,
        "what_we_heard": "Residents asked for a park.",
    }
    assert {entry["role"] for entry in record["entries"]} == {f"organizer:{organisation_id}"}
    assert record["ledger"]["verifies"] is True
    [event] = await pool.fetch(
        "SELECT routing_key, payload FROM outbox WHERE aggregate = $1", f"decision:{decision_id}"
    )
    data = (
        json.loads(event["payload"])["data"]
        if isinstance(event["payload"], str)
        else event["payload"]["data"]
    )
    assert event["routing_key"] == "decision.recorded"
    assert data["outcome"] == "approved" and data["survey_ids"] == [str(survey_id)]
    assert data["page_path"] == f"/decisions/{decision_id}"
    # What notifications tells each participant (tests/test_decision_outcome_notices.py).
    assert data["rationale"] == recording["rationale"] and data["input_used"] == recording["input_used"]
    assert (await post("/assessment", ASSESSMENT, 409, method="PUT"))["detail"].startswith("the assessment")
    verification = await (await engagement.get("/api/v1/ledger/verification")).json()
    assert verification["verifies"] is True and verification["entries"] >= 10


async def test_a_refused_outcome_writes_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    body = a_decision(organisation_id, await a_region(pool), method="consensus", body="cop_steering")
    decision_id = (await (await engagement.post("/api/v1/decisions", json=body, headers=organizer)).json())[
        "decision"
    ]["id"]
    path = f"/api/v1/decisions/{decision_id}"
    for to in ("consultation", "deliberation"):
        assert (await engagement.post(path + "/stage", json={"to": to}, headers=organizer)).status == 200
    assert (await engagement.put(path + "/assessment", json=ASSESSMENT, headers=organizer)).status == 200
    before = await pool.fetchval(
        "SELECT count(*) FROM ledger_entries WHERE decision_id = $1", uuid.UUID(decision_id)
    )
    votes = [
        {"member": 1, "vote": "for"},
        {"member": 2, "vote": "against"},
        {"member": 3, "vote": "recused", "reason": "owns land nearby"},
    ]
    answer = await engagement.post(
        path + "/outcome", json={"outcome": "approved", "votes": votes, "rationale": "x"}, headers=organizer
    )
    assert answer.status == 409  # a consensus with one against
    assert answer.content_type == "application/problem+json"
    after = await pool.fetchval(
        "SELECT count(*) FROM ledger_entries WHERE decision_id = $1", uuid.UUID(decision_id)
    )
    assert after == before
    assert (
        await pool.fetchval("SELECT stage FROM decisions WHERE id = $1", uuid.UUID(decision_id))
        == "deliberation"
    )


async def test_who_may_write_and_bad_input(engagement: TestClient, pools: dict[str, asyncpg.Pool]) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    region = await a_region(pool)
    other = as_(f"organizer:{uuid.uuid4()}")
    assert (
        await engagement.post("/api/v1/decisions", json=a_decision(organisation_id, region), headers=other)
    ).status == 403
    assert (
        await engagement.post("/api/v1/decisions", json=a_decision(organisation_id, region))
    ).status == 401
    organizer = as_(f"organizer:{organisation_id}")
    bad = await engagement.post(
        "/api/v1/decisions", json=a_decision(organisation_id, region, members=[]), headers=organizer
    )
    assert bad.status == 422 and bad.content_type == "application/problem+json"
    unknown = await engagement.post(
        "/api/v1/decisions", json=a_decision(organisation_id, uuid.uuid4()), headers=organizer
    )
    assert unknown.status == 422
    assert (await unknown.json())["errors"] == [{"field": "region_id", "message": "no such region"}]
    created = await engagement.post(
        "/api/v1/decisions", json=a_decision(organisation_id, region), headers=organizer
    )
    decision_id = (await created.json())["decision"]["id"]
    path = f"/api/v1/decisions/{decision_id}"
    assert (await engagement.post(path + "/stage", json={"to": "consultation"}, headers=other)).status == 403
    skipped = await engagement.post(path + "/stage", json={"to": "decided"}, headers=organizer)
    assert skipped.status == 409
    assert (await engagement.get(f"/api/v1/decisions/{uuid.uuid4()}")).status == 404


async def test_a_resident_ballot_is_never_typed_in(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    body = a_decision(
        organisation_id, await a_region(pool), body="resident_ballot", method="resident_ballot", members=[]
    )
    decision_id = (await (await engagement.post("/api/v1/decisions", json=body, headers=organizer)).json())[
        "decision"
    ]["id"]
    path = f"/api/v1/decisions/{decision_id}"
    for to in ("consultation", "deliberation"):
        await engagement.post(path + "/stage", json={"to": to}, headers=organizer)
    await engagement.put(path + "/assessment", json=ASSESSMENT, headers=organizer)
    answer = await engagement.post(
        path + "/outcome", json={"outcome": "approved", "rationale": "x"}, headers=organizer
    )
    assert answer.status == 422
    assert "computed from its survey" in (await answer.json())["detail"]


async def test_the_demo_decisions_load_once_and_their_ledgers_verify(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    """The rezoning consults the demo's Northside survey (by the id surveys' demo gives it) and
    the Land Use hearing, and is recorded once the survey's responses have come; the
    designation competition is decided at once: 72 applicants, 12 designated, one conflict."""
    survey_id = demo_ids.survey_id("demo-northside-site")
    async with pools["engagement"].acquire() as conn:
        await demo.load_regions(conn)
        await demo.load_community(conn)
        await demo.load_meetings(conn)
        assert await demo.load_decisions(conn) == 2
        assert await demo.load_decisions(conn) == 0
    decision_id = decisions_demo.demo_id(demo._NAMESPACE)
    waiting = await (await engagement.get(f"/api/v1/decisions/{decision_id}")).json()
    assert waiting["decision"]["stage"] == "consultation"
    assert [(c["kind"], c["target_id"]) for c in waiting["consultations"]] == [
        ("survey", str(survey_id)),
        ("meeting", str(demo.DEMO_HEARING_ID)),
    ]
    await responses(pools["engagement"], survey_id, ["renter"] * 40 + ["owner"] * 20)
    async with pools["engagement"].acquire() as conn:
        assert await demo.finish_decisions(conn) == 1
        assert await demo.finish_decisions(conn) == 0
    record = await (await engagement.get(f"/api/v1/decisions/{decision_id}")).json()
    assert record["decision"]["region_name"] == "Demo: Portland"
    assert record["decision"]["outcome"] == "amended"
    assert [v["vote"] for v in record["votes"]] == ["for", "for", "against", "recused", "for"]
    hearing_registered = await pools["engagement"].fetchval(
        "SELECT count(*) FROM meeting_registrations WHERE meeting_id = $1 AND status <> 'cancelled'",
        demo.DEMO_HEARING_ID,
    )
    assert [(c["participants"], c["registered"]) for c in record["consultations"]] == [
        (60, None),
        (0, hearing_registered),  # the hearing was cancelled: nobody attended
    ]
    assert [e["kind"] for e in record["entries"]].count("participation_counted") == 2
    assert record["ledger"]["verifies"] is True

    competition = await (await engagement.get(f"/api/v1/decisions/{demo.DEMO_COMPETITION_ID}")).json()
    applications = competition["competition"]["applications"]
    assert len(applications) == 72 and competition["competition"]["designated"] == 12
    ranks = [a["rank"] for a in applications]
    assert (
        ranks == sorted(ranks) and ranks[0] == 1 and ranks[11] <= 12 < ranks[12]
    )  # equal scores share a rank
    assert all(a["designated"] for a in applications[:12]) and not any(
        a["designated"] for a in applications[12:]
    )
    conflicts = [(r["name"], r["conflict"]) for a in applications for r in a["reviews"] if r["conflict"]]
    assert conflicts == [("Demo: Reviewer Lucía Romero", "Advised this community's application")]
    kinds = [e["kind"] for e in competition["entries"]]
    assert kinds.count("review_scored") == 72 * 3 - 1 and kinds.count("application_received") == 72
    assert competition["ledger"]["verifies"] is True
