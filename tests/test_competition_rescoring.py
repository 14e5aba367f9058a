"""A competition's re-scores and its ties at the cut, against the real PostgreSQL: a reviewer
scores an application again until the outcome is recorded, the newest sheet counts and changes
the ranking, and both sheets stay in the ledger (the new entry naming the one it replaces); the
same scores again write nothing; a conflicted reviewer still cannot score; after the outcome, no
re-score. A tie across the last designated place is said on the API and the pages (each tied
application marked), designating is refused until the panel's vote names which of the tied it
designates, and a rejection needs no tie broken."""

import uuid
from fractions import Fraction
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.engagement.decisions.competition import Tie, TieBreakRefused, TiedAtCut, ranking, tie_at_cut
from services.engagement.decisions.ledger import verify_export
from tests import test_accounts
from tests.test_accounts import csrf_of
from tests.test_competitions import CRITERIA, Panel, a_panel
from tests.test_decisions import ASSESSMENT

engagement = test_accounts.engagement

FOR_ALL = [{"member": n, "vote": "for"} for n in (1, 2, 3)]
AGAINST_ALL = [{"member": n, "vote": "against"} for n in (1, 2, 3)]


async def a_competition(
    engagement: TestClient, pool: asyncpg.Pool, places: int, communities: dict[str, tuple[int, int]]
) -> tuple[Panel, dict[str, str]]:
    """A competition in consultation, each community scored the same by all three reviewers."""
    panel, _ = await a_panel(engagement, pool)
    await panel.call("PUT", "/competition", {"places": places, "criteria": CRITERIA})
    applications = {}
    for community in communities:
        received = await panel.call(
            "POST", "/applications", {"community": community, "lead": "A council"}, 201
        )
        applications[community] = received["id"]
    await panel.call("POST", "/stage", {"to": "consultation"})
    for community, scores in communities.items():
        for reviewer in (1, 2, 3):
            await panel.score(applications[community], reviewer, scores)
    return panel, applications


async def to_deliberation(panel: Panel) -> None:
    await panel.call("POST", "/stage", {"to": "deliberation"})
    await panel.call("PUT", "/assessment", ASSESSMENT)


def by_community(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["community"]: a for a in record["competition"]["applications"]}


async def entries_of(pool: asyncpg.Pool, panel: Panel) -> int:
    found: int = await pool.fetchval(
        "SELECT count(*) FROM ledger_entries WHERE decision_id = $1", uuid.UUID(panel.path.rsplit("/", 1)[1])
    )
    return found


async def test_a_rescore_changes_the_ranking_and_both_sheets_stay_in_the_ledger(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    panel, applications = await a_competition(
        engagement, pool, 1, {"Alpha Valley": (8, 8), "Bravo Bay": (7, 7)}
    )
    alpha, bravo = applications["Alpha Valley"], applications["Bravo Bay"]
    first = next(
        e
        for e in (await panel.call("GET", "", None))["entries"]
        if e["kind"] == "review_scored"
        and e["payload"]["application_id"] == bravo
        and e["payload"]["reviewer"] == 1
    )
    record = await panel.score(bravo, 1, (10, 10))
    rescored = record["entries"][-1]
    assert rescored["kind"] == "review_scored" and rescored["corrects"] is None
    assert rescored["payload"]["replaces"] == first["sequence"]
    assert rescored["payload"]["scores"] == [{"criterion": 1, "score": 10}, {"criterion": 2, "score": 10}]
    assert first in record["entries"]  # the sheet replaced stays as it was
    assert "replaces" not in first["payload"]
    bravo_now = by_community(record)["Bravo Bay"]
    assert bravo_now["reviews"][0]["scores"] == {"1": 10, "2": 10}
    assert bravo_now["score_hundredths"] == 800  # (10 + 7 + 7) / 3: the newest sheet counts
    assert by_community(record)["Alpha Valley"]["score_hundredths"] == 800

    # The same scores again: nothing to record.
    count = await entries_of(pool, panel)
    await panel.score(bravo, 1, (10, 10))
    assert await entries_of(pool, panel) == count

    # Through the console's form: a second re-score by another reviewer.
    console = panel.path.replace("/api/v1/decisions", "/console/decisions") + "/competition"
    csrf = csrf_of(await (await engagement.get(console, headers=panel.organizer)).text())
    sheet = {"csrf": csrf, "application_id": bravo, "reviewer": "2", "score_1": "10", "score_2": "10"}
    answer = await engagement.post(
        console.replace("/competition", "/scores"), data=sheet, headers=panel.organizer, allow_redirects=False
    )
    assert answer.status == 303 and answer.headers["Location"] == f"{console}?saved=1"
    again = await engagement.post(
        console.replace("/competition", "/scores"), data=sheet, headers=panel.organizer, allow_redirects=False
    )
    assert again.headers["Location"] == f"{console}?unchanged=1"
    told = await (await engagement.get(f"{console}?unchanged=1", headers=panel.organizer)).text()
    assert "Nothing changed, so nothing was written in the ledger." in told
    assert "a reviewer's new scores of an application replace those they gave it before" in told

    # A reviewer who declares a conflict still cannot score, re-score or not.
    await panel.call("POST", f"/applications/{alpha}/conflicts", {"reviewer": 3, "reason": "Advised Alpha"})
    refused = await panel.score(alpha, 3, (8, 8), 409)
    assert "conflict of interest" in refused["detail"]

    await to_deliberation(panel)
    decided = await panel.call(
        "POST", "/outcome", {"outcome": "approved", "votes": FOR_ALL, "rationale": "Top."}
    )
    assert [(a["community"], a["rank"], a["designated"]) for a in decided["competition"]["applications"]] == [
        ("Bravo Bay", 1, True),  # (10 + 10 + 7) / 3 = 9, above Alpha's 8
        ("Alpha Valley", 2, False),
    ]
    ranking = decided["entries"][-1]["payload"]["ranking"]
    assert [(r["community"], r["score_hundredths"], r["tied_at_cut"]) for r in ranking] == [
        ("Bravo Bay", 900, False),
        ("Alpha Valley", 800, False),
    ]
    bravo_sheets = [
        e
        for e in decided["entries"]
        if e["kind"] == "review_scored" and e["payload"]["application_id"] == bravo
    ]
    assert len(bravo_sheets) == 5  # three first sheets, two re-scores
    assert decided["ledger"]["verifies"] is True

    # After the outcome, no re-score.
    count = await entries_of(pool, panel)
    late = await panel.score(alpha, 1, (1, 1), 409)
    assert late["detail"] == "applications are scored during consultation and deliberation"
    assert await entries_of(pool, panel) == count

    page = await (await engagement.get(panel.path.replace("/api/v1", ""))).text()
    assert f"Rev. One's new scores of Bravo Bay, replacing entry {first['sequence']}" in page
    exported = await (await engagement.get("/api/v1/ledger/export")).read()
    assert verify_export(exported).verifies
    assert f'"replaces":{first["sequence"]}'.encode() in exported


async def test_a_tie_at_the_cut_is_said_and_the_panel_breaks_it_by_its_vote(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    panel, applications = await a_competition(
        engagement, pool, 1, {"Bravo Bay": (8, 8), "Alpha Valley": (8, 8), "Charlie Coast": (5, 5)}
    )
    alpha, bravo, charlie = (applications[c] for c in ("Alpha Valley", "Bravo Bay", "Charlie Coast"))
    record = await panel.call("GET", "", None)
    assert record["competition"]["tie"] == {
        "applications": [alpha, bravo],
        "communities": ["Alpha Valley", "Bravo Bay"],
        "places_left": 1,
    }
    assert {c: a["tied_at_cut"] for c, a in by_community(record).items()} == {
        "Bravo Bay": True,
        "Alpha Valley": True,
        "Charlie Coast": False,
    }
    public = panel.path.replace("/api/v1", "")
    page = await (await engagement.get(public)).text()
    assert 'id="tie-at-cut"' in page
    assert "Alpha Valley, Bravo Bay tie at the last designated place on the scores so far" in page
    assert page.count("tied at the cut") == 2
    spanish = await (await engagement.get(public + "?lang=es")).text()
    assert "Alpha Valley, Bravo Bay empatan en el último puesto designado" in spanish
    assert spanish.count("empatada en el corte") == 2

    await to_deliberation(panel)
    count = await entries_of(pool, panel)
    recording = {"outcome": "approved", "votes": FOR_ALL, "rationale": "The panel chose Bravo Bay."}
    unbroken = await panel.call("POST", "/outcome", recording, 409)
    assert unbroken["detail"] == (
        "Alpha Valley and Bravo Bay tie at the last designated place (1 place left to them): "
        "the panel's vote names which it designates (tie_break)"
    )
    outside = await panel.call("POST", "/outcome", {**recording, "tie_break": [charlie]}, 422)
    assert outside["errors"][0]["field"] == "tie_break" and "Alpha Valley and Bravo Bay" in outside["detail"]
    await panel.call("POST", "/outcome", {**recording, "tie_break": [alpha, bravo]}, 422)
    assert await entries_of(pool, panel) == count

    # The console's outcome form offers the tied applications to the vote.
    console = public.replace("/decisions", "/console/decisions")
    form = await (await engagement.get(console, headers=panel.organizer)).text()
    assert f'name="tie_break_{alpha}"' in form and f'name="tie_break_{bravo}"' in form
    assert f'name="tie_break_{charlie}"' not in form
    sent = await engagement.post(
        f"{console}/outcome",
        data={
            "csrf": csrf_of(form),
            "outcome": "approved",
            **{f"vote_{n}": "for" for n in (1, 2, 3)},
            "rationale": "The panel chose Bravo Bay.",
        },
        headers=panel.organizer,
    )
    assert sent.status == 409 and 'id="tie_break-error"' in await sent.text()

    decided = await panel.call("POST", "/outcome", {**recording, "tie_break": [bravo]})
    assert [(a["community"], a["rank"], a["designated"]) for a in decided["competition"]["applications"]] == [
        ("Bravo Bay", 1, True),
        ("Alpha Valley", 1, False),
        ("Charlie Coast", 3, False),
    ]
    outcome = decided["entries"][-1]["payload"]
    assert outcome["tie_break"] == [bravo]
    assert [(r["community"], r["designated"], r["tied_at_cut"]) for r in outcome["ranking"]] == [
        ("Alpha Valley", False, True),
        ("Bravo Bay", True, True),
        ("Charlie Coast", False, False),
    ]
    after = await (await engagement.get(public + "?lang=en")).text()
    assert "Alpha Valley, Bravo Bay tied at the last designated place: the panel's vote decided" in after
    assert decided["ledger"]["verifies"] is True


async def test_a_rejection_needs_no_tie_broken(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    panel, applications = await a_competition(
        engagement, pool, 1, {"Delta Plains": (6, 6), "Echo Hills": (6, 6)}
    )
    await to_deliberation(panel)
    recording = {"outcome": "rejected", "votes": AGAINST_ALL, "rationale": "Neither is ready."}
    breaking = await panel.call(
        "POST", "/outcome", {**recording, "tie_break": [applications["Echo Hills"]]}, 422
    )
    assert breaking["detail"] == "a rejection or a deferral designates no one: there is no tie to break"
    decided = await panel.call("POST", "/outcome", recording)
    assert [(a["rank"], a["designated"]) for a in decided["competition"]["applications"]] == [
        (1, False),
        (1, False),
    ]


def test_the_ranking_designates_in_a_tie_only_whom_the_vote_names() -> None:
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    applications = [(a, "Alpha"), (b, "Bravo"), (c, "Charlie"), (d, "Delta")]
    sheets = {a: {1: {1: 9}}, b: {1: {1: 5}}, c: {1: {1: 5}}, d: {1: {1: 5}}}
    expected = dict.fromkeys((a, b, c, d), 1)
    assert tie_at_cut([(Fraction(9), a), (Fraction(5), b), (Fraction(5), c), (Fraction(5), d)], 2) == Tie(
        (b, c, d), 1
    )
    with pytest.raises(TiedAtCut, match=r"^Bravo, Charlie and Delta tie .* \(1 place left to them\)"):
        ranking([1], applications, sheets, expected, places=2)
    ranked = ranking([1], applications, sheets, expected, places=2, tie_break=[c])
    assert [(r.community, r.rank, r.designated, r.tied_at_cut) for r in ranked] == [
        ("Alpha", 1, True, False),
        ("Bravo", 2, False, True),
        ("Charlie", 2, True, True),
        ("Delta", 2, False, True),
    ]
    for wrong in ([b, c], [a], []):
        with pytest.raises((TieBreakRefused, TiedAtCut)):
            ranking([1], applications, sheets, expected, places=2, tie_break=wrong)
    with pytest.raises(TieBreakRefused, match="no tie at the last designated place"):
        ranking([1], applications, sheets, expected, places=1, tie_break=[a])
    rejected = ranking([1], applications, sheets, expected, places=2, designating=False)
    assert not any(r.designated for r in rejected) and [r.tied_at_cut for r in rejected] == [
        False,
        True,
        True,
        True,
    ]
    # Places for all, or a cut between two scores: no tie to break.
    assert tie_at_cut([(Fraction(5), b), (Fraction(5), c)], 2) is None
    assert tie_at_cut([(Fraction(9), a), (Fraction(5), b)], 1) is None
