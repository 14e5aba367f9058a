"""A competition through the console's forms alone (errors beside the field with what was typed
kept, a conflicted reviewer's scores refused beside their field, an expired form refused), a
correction through the console, and the public page showing the applicants, the criteria, the
scores by reviewer and the conflict, in English and Spanish."""

import asyncpg
from aiohttp.test_utils import TestClient

from tests import test_accounts
from tests.test_accounts import csrf_of
from tests.test_competitions import a_panel

engagement = test_accounts.engagement


async def test_a_competition_through_the_console_and_on_the_public_page(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    panel, _ = await a_panel(engagement, pools["engagement"])
    console = panel.path.replace("/api/v1/decisions", "/console/decisions")
    organizer = panel.organizer
    page = await engagement.get(f"{console}/competition", headers=organizer)
    assert page.status == 200
    csrf = csrf_of(await page.text())

    async def step(action: str, status: int = 303, **data: str) -> str:
        answer = await engagement.post(
            f"{console}/{action}", data={"csrf": csrf, **data}, headers=organizer, allow_redirects=False
        )
        assert answer.status == status, await answer.text()
        return await answer.text()

    criteria = "Strength of the plan | 3 | How far it goes\nPartnerships | heavy"
    refused = await step("competition", 422, places="2", criteria=criteria)
    assert 'id="criteria-error"' in refused and "Partnerships | heavy</textarea>" in refused
    assert 'aria-describedby="criteria-error"' in refused
    assert 'id="form-error"' in await step("competition", 422, places="2", criteria="x | 1", csrf="expired")
    await step(
        "competition", places="2", criteria="Strength of the plan | 3 | How far it goes\nPartnerships | 1"
    )
    missing = await step("applications", 422, community="", lead="Alpha Council")
    assert 'id="community-error"' in missing and 'value="Alpha Council"' in missing
    for community in ("Alpha Valley", "Bravo Bay"):
        await step(
            "applications",
            community=community,
            lead=f"{community} Council",
            document_links="https://example.org/a.pdf",
        )
    await step("stage", to="consultation")
    record = await panel.call("GET", "", None)
    alpha, bravo = (a["id"] for a in record["competition"]["applications"])
    no_reason = await step("conflicts", 422, application_id=alpha, reviewer="3", reason="")
    assert 'id="reason-error"' in no_reason
    await step("conflicts", application_id=alpha, reviewer="3", reason="Advised the bid")
    conflicted = await step("scores", 409, application_id=alpha, reviewer="3", score_1="9", score_2="9")
    assert 'id="reviewer-error"' in conflicted and "conflict of interest" in conflicted
    out_of_range = await step("scores", 422, application_id=bravo, reviewer="1", score_1="11", score_2="4")
    assert 'id="scores-error"' in out_of_range and 'value="11"' in out_of_range
    await step("scores", application_id=bravo, reviewer="1", score_1="8", score_2="4")
    created = record["entries"][0]["sequence"]
    await engagement.get(console, headers=organizer)
    await step(
        "corrections", corrects=str(created), why="The title was wrong.", correction="It is a competition."
    )
    empty = await step("corrections", 422, corrects=str(created), why="", correction="x")
    assert 'id="why-error"' in empty

    public = await (await engagement.get(panel.path.replace("/api/v1", ""))).text()
    assert "Strength of the plan" in public and "Alpha Valley" in public and "Bravo Bay Council" in public
    assert "Rev. One" in public and "7.00" in public  # (8 * 3 + 4) / 4
    assert "Conflict of interest: Advised the bid" in public
    assert "Corrects entry" in public and "The title was wrong." in public
    spanish = await (await engagement.get(panel.path.replace("/api/v1", "") + "?lang=es")).text()
    assert "Conflicto de intereses: Advised the bid" in spanish and "Criterios de evaluación" in spanish
