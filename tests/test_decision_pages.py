"""The decisions' pages: an organizer proposes, consults, assesses and records a decision through
the console's forms alone (errors beside the field with what was typed kept, an expired form
refused, a refusal beside the form), and anyone reads the public list and page, in English and
Spanish."""

import uuid

import asyncpg
from aiohttp.test_utils import TestClient

from tests import test_accounts
from tests.test_accounts import csrf_of
from tests.test_campaigns import an_organisation
from tests.test_decisions import a_region, responses
from tests.test_organisations import as_, unique

engagement = test_accounts.engagement


async def test_a_decision_through_the_console_and_on_its_public_page(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    region = await a_region(pool)
    form = await engagement.get("/console/decisions/new", headers=organizer)
    assert form.status == 200
    title = unique("Rezone the Northside industrial site")
    typed = {
        "csrf": csrf_of(await form.text()),
        "organisation_id": organisation_id,
        "region_id": str(region),
        "title": title,
        "site": "Northside",
        "description": "Mixed use",
        "document_links": "ftp://not-a-web-link",
        "body": "city_council",
        "method": "majority",
        "members": "Rosa Díaz, District 1\nTom Chen, District 2\nAna Ruiz, District 3",
    }
    refused = await engagement.post("/console/decisions/new", data=typed, headers=organizer)
    assert refused.status == 422
    page = await refused.text()
    assert 'id="document_links-error"' in page and "ftp://not-a-web-link</textarea>" in page
    assert f'value="{title}"' in page
    ballot = await engagement.post(
        "/console/decisions/new",
        data={**typed, "document_links": "", "method": "resident_ballot"},
        headers=organizer,
    )
    assert ballot.status == 422 and 'id="method-error"' in await ballot.text()
    expired = await engagement.post("/console/decisions/new", data={**typed, "csrf": "x"}, headers=organizer)
    assert expired.status == 422 and 'id="form-error"' in await expired.text()
    other = as_(f"organizer:{uuid.uuid4()}")
    saved = await engagement.post(
        "/console/decisions/new",
        data={**typed, "document_links": "https://example.org/report.pdf"},
        headers=organizer,
        allow_redirects=False,
    )
    assert saved.status == 303
    console_path = saved.headers["Location"].split("?")[0]
    decision_id = console_path.rsplit("/", 1)[1]
    assert (await engagement.get(console_path, headers=other)).status == 403
    csrf = csrf_of(await (await engagement.get(console_path, headers=organizer)).text())

    async def step(action: str, status: int = 303, **data: str) -> str:
        answer = await engagement.post(
            f"{console_path}/{action}", data={"csrf": csrf, **data}, headers=organizer, allow_redirects=False
        )
        assert answer.status == status, await answer.text()
        return await answer.text()

    survey_id = uuid.uuid4()
    await step("stage", to="consultation")
    bad_link = await step("consultations", 422, kind="survey", target_id="not-an-id")
    assert 'id="target_id-error"' in bad_link and 'value="not-an-id"' in bad_link
    await step("consultations", kind="survey", target_id=str(survey_id))
    await responses(pool, survey_id, ["owner"] * 6 + ["renter"] * 6)
    await step("close", kind="survey", target_id=str(survey_id), what_we_heard="Residents asked for a park.")
    await step("stage", to="deliberation")
    outcome = {
        "outcome": "approved",
        "vote_1": "for",
        "vote_2": "recused",
        "reason_2": "",
        "vote_3": "for",
        "rationale": "Homes are needed.",
        f"how_used_survey_{survey_id}": "A park was added to the plan.",
    }
    unassessed = await step("outcome", 409, **{**outcome, "reason_2": "Owns land on the site"})
    assert "equity impact assessment is required" in unassessed
    no_reason = await step("outcome", 422, **outcome)
    assert 'id="votes-error"' in no_reason and "Homes are needed.</textarea>" in no_reason
    assessment = {
        "who_pays": "The city",
        "who_benefits": "Renters",
        "who_decides": "The council",
        "groups": "Renters | Homes | Noise\nSmall businesses | Customers | Rents",
        "mitigations": "Quiet hours",
        "narrative": "Idle for a decade.",
    }
    no_groups = await step("assessment", 422, **{**assessment, "groups": ""})
    assert 'id="groups-error"' in no_groups and "The city</textarea>" in no_groups
    await step("assessment", **assessment)
    await step("outcome", **{**outcome, "reason_2": "Owns land on the site"})

    public = await engagement.get(f"/decisions/{decision_id}")  # nobody signed in
    assert public.status == 200
    html = await public.text()
    for shown in (
        title,
        "The ledger verifies",
        "Rosa Díaz",
        "Recused: Owns land on the site",
        "Residents asked for a park.",
        "A park was added to the plan.",
        "Small businesses",
        "<svg",
        "under-represented",
        "Approved",
    ):
        assert shown in html, shown
    spanish = await (await engagement.get(f"/decisions/{decision_id}?lang=es")).text()
    assert 'lang="es"' in spanish and "Votos por nombre" in spanish and "El registro se verifica" in spanish
    listed = await (await engagement.get(f"/decisions?region_id={region}&stage=decided")).text()
    assert f'href="/decisions/{decision_id}"' in listed
    other_stage = await (await engagement.get(f"/decisions?region_id={region}&stage=proposed")).text()
    assert f'href="/decisions/{decision_id}"' not in other_stage
    assert (await engagement.get(f"/decisions/{uuid.uuid4()}")).status == 404
    console = await (await engagement.get("/console/decisions", headers=organizer)).text()
    assert title in console
