"""Competitions through the API against the real PostgreSQL: a review panel's places and
weighted criteria, applications with documents, a conflict of interest declared and honoured (the
conflicted reviewer's score refused, their earlier score withdrawn), scores by named reviewers,
the ranking computed from them when the panel votes, every applicant told (one
application.decided each in the outbox), every step in the ledger; and corrections of an entry
with who and why."""

import json
import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests import test_accounts
from tests.test_campaigns import an_organisation
from tests.test_decisions import ASSESSMENT, a_decision, a_region
from tests.test_organisations import as_

engagement = test_accounts.engagement

PANEL = [{"name": "Rev. One", "seat": "Chair"}, {"name": "Rev. Two"}, {"name": "Rev. Three"}]
CRITERIA = [
    {"name": "Strength of the plan", "weight": 3},
    {"name": "Partnerships", "description": "Public and private", "weight": 1},
]


class Panel:
    def __init__(self, client: TestClient, organizer: dict[str, str], decision_id: str) -> None:
        self.client, self.organizer = client, organizer
        self.path = f"/api/v1/decisions/{decision_id}"

    async def call(self, method: str, suffix: str, body: Any, status: int = 200) -> dict[str, Any]:
        answer = await self.client.request(method, self.path + suffix, json=body, headers=self.organizer)
        assert answer.status == status, await answer.text()
        return dict(await answer.json())

    async def score(self, application: str, reviewer: int, scores: tuple[int, int], status: int = 200) -> Any:
        sheet = {
            "reviewer": reviewer,
            "scores": [{"criterion": n, "score": s} for n, s in enumerate(scores, 1)],
        }
        return await self.call("POST", f"/applications/{application}/scores", sheet, status)


async def a_panel(engagement: TestClient, pool: asyncpg.Pool) -> tuple[Panel, str]:
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    body = a_decision(organisation_id, await a_region(pool), body="review_panel", members=PANEL)
    created = await engagement.post("/api/v1/decisions", json=body, headers=organizer)
    assert created.status == 201, await created.text()
    return Panel(engagement, organizer, (await created.json())["decision"]["id"]), organisation_id


async def test_a_competition_from_applications_to_designations(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    panel, organisation_id = await a_panel(engagement, pool)
    await panel.call("POST", "/applications", {"community": "Early", "lead": "x"}, 409)  # no competition yet
    await panel.call("PUT", "/competition", {"places": 2, "criteria": CRITERIA})
    applications = {}
    for community in ("Alpha Valley", "Bravo Bay", "Charlie Coast", "Delta Plains"):
        received = await panel.call(
            "POST",
            "/applications",
            {
                "community": community,
                "lead": f"{community} Regional Commission",
                "summary": "A plan for makers.",
                "document_links": [f"https://example.org/{community[:5].lower()}.pdf"],
            },
            201,
        )
        applications[community] = received["id"]
    again = await panel.call("POST", "/applications", {"community": "Alpha Valley", "lead": "x"}, 409)
    assert again["errors"] == [{"field": "community", "message": "this community has applied already"}]
    await panel.call("POST", "/stage", {"to": "consultation"})
    alpha, bravo, charlie, delta = applications.values()
    await panel.score(alpha, 3, (2, 2))  # given, then withdrawn by the conflict declared below
    declared = await panel.call(
        "POST", f"/applications/{alpha}/conflicts", {"reviewer": 3, "reason": "Advised the Alpha Valley bid"}
    )
    refused = await panel.score(alpha, 3, (10, 10), 409)
    assert "conflict of interest" in refused["detail"]
    assert (await panel.score(bravo, 4, (1, 1), 422))["detail"] == "no such member of the panel"
    incomplete = {"reviewer": 1, "scores": [{"criterion": 1, "score": 5}]}
    await panel.call("POST", f"/applications/{bravo}/scores", incomplete, 422)
    scores = {
        alpha: [(9, 9), (9, 5)],  # (9*3+9)/4 = 9, (9*3+5)/4 = 8: 8.5
        bravo: [(5, 5), (5, 5), (5, 5)],
        charlie: [(8, 8), (8, 8), (7, 7)],  # 7.67
        delta: [(4, 4), (6, 6), (2, 2)],
    }
    for application, sheets in scores.items():
        for reviewer, sheet in enumerate(sheets, start=1):
            await panel.score(application, reviewer, sheet)
    await panel.call("PUT", "/competition", {"places": 3, "criteria": CRITERIA}, 409)  # fixed once scored
    await panel.call("POST", "/stage", {"to": "deliberation"})
    await panel.call("PUT", "/assessment", ASSESSMENT)
    votes = [{"member": 1, "vote": "for"}, {"member": 2, "vote": "for"}, {"member": 3, "vote": "against"}]
    recording = {"outcome": "amended", "votes": votes, "rationale": "The ranking."}
    assert "approve or reject" in (await panel.call("POST", "/outcome", recording, 409))["detail"]
    record = await panel.call("POST", "/outcome", {**recording, "outcome": "approved"})

    competition = record["competition"]
    assert competition["designated"] == 2 and competition["places"] == 2
    assert [
        (a["community"], a["rank"], a["designated"], a["score_hundredths"])
        for a in competition["applications"]
    ] == [
        ("Alpha Valley", 1, True, 850),
        ("Charlie Coast", 2, True, 767),
        ("Bravo Bay", 3, False, 500),
        ("Delta Plains", 4, False, 400),
    ]
    alpha_reviews = competition["applications"][0]["reviews"]
    assert [(r["name"], r["score_hundredths"], r["conflict"]) for r in alpha_reviews] == [
        ("Rev. One", 900, None),
        ("Rev. Two", 800, None),
        ("Rev. Three", None, "Advised the Alpha Valley bid"),
    ]
    kinds = [entry["kind"] for entry in record["entries"]]
    assert kinds.count("review_scored") == 12 and kinds.count("application_received") == 4
    assert kinds[:2] == ["created", "competition_set"] and kinds[-1] == "outcome_recorded"
    conflict = next(e for e in record["entries"] if e["kind"] == "conflict_declared")["payload"]
    assert conflict == {
        "application_id": alpha,
        "community": "Alpha Valley",
        "reviewer": 3,
        "name": "Rev. Three",
        "reason": "Advised the Alpha Valley bid",
        "scores_withdrawn": 2,
    }
    assert declared["competition"]["applications"][0]["reviews"][2]["scores"] == {}
    ranking = record["entries"][-1]["payload"]["ranking"]
    assert [(r["community"], r["rank"], r["designated"]) for r in ranking][:2] == [
        ("Alpha Valley", 1, True),
        ("Charlie Coast", 2, True),
    ]
    assert record["ledger"]["verifies"] is True

    told = await pool.fetch(
        "SELECT routing_key, payload::text AS payload FROM outbox WHERE aggregate = $1 ORDER BY id",
        f"decision:{panel.path.rsplit('/', 1)[1]}",
    )
    assert [row["routing_key"] for row in told] == ["decision.recorded"] + ["application.decided"] * 4
    decided = {
        json.loads(row["payload"])["data"]["community"]: json.loads(row["payload"])["data"]
        for row in told[1:]
    }
    assert (decided["Alpha Valley"]["designated"], decided["Alpha Valley"]["rank"]) == (True, 1)
    assert (decided["Delta Plains"]["designated"], decided["Delta Plains"]["applicants"]) == (False, 4)
    assert decided["Delta Plains"]["organisation_id"] == organisation_id


async def test_the_ranking_must_be_complete_and_other_organisations_may_not_score(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    panel, _ = await a_panel(engagement, pool)
    await panel.call("PUT", "/competition", {"places": 1, "criteria": CRITERIA})
    application = (
        await panel.call("POST", "/applications", {"community": "Echo", "lead": "Echo Council"}, 201)
    )["id"]
    await panel.call("POST", "/stage", {"to": "consultation"})
    other = as_(f"organizer:{uuid.uuid4()}")
    sheet = {"reviewer": 1, "scores": [{"criterion": 1, "score": 5}, {"criterion": 2, "score": 5}]}
    answer = await engagement.post(
        f"{panel.path}/applications/{application}/scores", json=sheet, headers=other
    )
    assert answer.status == 403
    unknown = await panel.call("POST", f"/applications/{uuid.uuid4()}/scores", sheet, 404)
    assert unknown["detail"] == "not an application to this competition"
    await panel.score(application, 1, (5, 5))
    await panel.call("POST", "/stage", {"to": "deliberation"})
    await panel.call("PUT", "/assessment", ASSESSMENT)
    before = await pool.fetchval("SELECT count(*) FROM ledger_entries")
    votes = [{"member": n, "vote": "for"} for n in (1, 2, 3)]
    refused = await panel.call(
        "POST", "/outcome", {"outcome": "approved", "votes": votes, "rationale": "x"}, 409
    )
    assert refused["detail"] == "the ranking is not complete: Echo: scored by 1 of its 3 reviewers"
    assert await pool.fetchval("SELECT count(*) FROM ledger_entries") == before


async def test_a_correction_names_the_entry_who_and_why(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    panel, organisation_id = await a_panel(engagement, pools["engagement"])
    record = await panel.call("PUT", "/competition", {"places": 1, "criteria": CRITERIA})
    created = record["entries"][0]
    body = {
        "corrects": created["sequence"],
        "why": "The site was misnamed.",
        "correction": "Northside, not Southside.",
    }
    corrected = await panel.call("POST", "/corrections", body)
    entry = corrected["entries"][-1]
    assert (entry["kind"], entry["corrects"], entry["role"]) == (
        "correction",
        created["sequence"],
        f"organizer:{organisation_id}",
    )
    assert entry["payload"] == {
        "corrected_kind": "created",
        "why": "The site was misnamed.",
        "correction": "Northside, not Southside.",
    }
    assert corrected["entries"][0] == created  # the corrected entry stays as it was
    other_panel, _ = await a_panel(engagement, pools["engagement"])
    other_decision = (await other_panel.call("GET", "", None))["entries"][0]["sequence"]
    refused = await panel.call("POST", "/corrections", {**body, "corrects": other_decision}, 422)
    assert refused["errors"] == [{"field": "corrects", "message": "not an entry of this decision"}]
    await panel.call("POST", "/corrections", {**body, "why": ""}, 422)
    assert corrected["ledger"]["verifies"] is True
