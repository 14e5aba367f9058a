"""Editing a decision's details before its outcome is recorded, against the real PostgreSQL: an
edit through the API and through the console's form (prefilled, errors beside the field with
what was typed kept, CSRF), each a ledger entry naming every field changed before and after,
shown on the public page, the chain and its export verifying; an edit that changes nothing
writes nothing; after the outcome, refused (409) with nothing changed; another organisation's
organizer refused (403), also to move a decision to an organisation not theirs; a review
panel's reviewers fixed once scored, its body kept; a resident ballot refused while a meeting is
linked."""

import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.engagement.decisions.ledger import verify_export
from shared.auth import ACCOUNT_HEADER
from tests import test_accounts
from tests.test_accounts import csrf_of
from tests.test_campaigns import an_organisation
from tests.test_competitions import CRITERIA, a_panel
from tests.test_decisions import ASSESSMENT, a_decision, a_region
from tests.test_organisations import ADMIN, as_

engagement = test_accounts.engagement


class Decision:
    """A decision proposed through the API by an organizer of its organisation."""

    def __init__(self, client: TestClient, organizer: dict[str, str], record: dict[str, Any]) -> None:
        self.client, self.organizer, self.record = client, organizer, record
        self.id = record["decision"]["id"]
        self.path = f"/api/v1/decisions/{self.id}"

    @property
    def details(self) -> dict[str, Any]:
        """Its details as the create body gives them (the body an edit replaces)."""
        decision = self.record["decision"]
        names = ("organisation_id", "region_id", "title", "site", "description", "document_links")
        return {**{n: decision[n] for n in names}, **{n: decision[n] for n in ("body", "method", "members")}}

    async def call(
        self, method: str, suffix: str, body: Any, status: int = 200, who: dict[str, str] | None = None
    ) -> dict[str, Any]:
        answer = await self.client.request(
            method, self.path + suffix, json=body, headers=who or self.organizer
        )
        assert answer.status == status, await answer.text()
        return dict(await answer.json())


async def a_proposal(engagement: TestClient, pool: asyncpg.Pool, **changes: Any) -> Decision:
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    body = a_decision(organisation_id, await a_region(pool), **changes)
    created = await engagement.post("/api/v1/decisions", json=body, headers=organizer)
    assert created.status == 201, await created.text()
    return Decision(engagement, organizer, await created.json())


async def entries_of(pool: asyncpg.Pool, decision_id: str) -> int:
    found: int = await pool.fetchval(
        "SELECT count(*) FROM ledger_entries WHERE decision_id = $1", uuid.UUID(decision_id)
    )
    return found


async def test_an_edit_is_on_the_public_page_in_the_ledger_and_the_chain_and_export_verify(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    decision = await a_proposal(engagement, pool, title="Rezone the Nortside industrial site")
    await decision.call("POST", "/stage", {"to": "consultation"})
    before = decision.details
    members = [*before["members"], {"name": "Lee Park", "seat": "At large"}]
    edit = {
        **before,
        "title": "Rezone the Northside industrial site",
        "site": "Northside",
        "members": members,
    }
    record = await decision.call("PUT", "", edit)

    assert record["decision"]["title"] == "Rezone the Northside industrial site"
    assert [(v["position"], v["name"], v["vote"]) for v in record["votes"]][-1] == (4, "Lee Park", None)
    entry = record["entries"][-1]
    assert entry["kind"] == "details_edited" and entry["corrects"] is None
    assert entry["payload"] == {
        "changed": {
            "title": {
                "from": "Rezone the Nortside industrial site",
                "to": "Rezone the Northside industrial site",
            },
            "site": {"from": "Northside industrial site", "to": "Northside"},
            "members": {"from": before["members"], "to": members},
        }
    }
    assert entry["role"] == f"organizer:{before['organisation_id']}"
    assert entry["who"]["account_id"] == decision.organizer[ACCOUNT_HEADER]
    assert record["entries"][0]["payload"]["title"] == "Rezone the Nortside industrial site"  # stays
    assert record["ledger"]["verifies"] is True
    audited = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'decision.details_edited' AND target = $1",
        f"decision:{decision.id}",
    )
    assert audited == 1

    # The same details again: nothing to write (a retried request, a form sent twice).
    count = await entries_of(pool, decision.id)
    again = await decision.call("PUT", "", edit)
    assert await entries_of(pool, decision.id) == count and again["entries"] == record["entries"]

    page = await (await engagement.get(f"/decisions/{decision.id}")).text()
    assert "<h1>Rezone the Northside industrial site</h1>" in page
    assert "details edited" in page
    assert (
        "Title (was “Rezone the Nortside industrial site”, now “Rezone the Northside industrial site”)"
        in page
    )
    assert "; Members" in page and 'id="ledger-state"' in page and "The ledger verifies" in page
    spanish = await (await engagement.get(f"/decisions/{decision.id}?lang=es")).text()
    assert "datos editados" in spanish and "Título (antes “Rezone the Nortside industrial site”" in spanish

    exported = await (await engagement.get("/api/v1/ledger/export")).read()
    assert verify_export(exported).verifies
    assert f'"hash":"{entry["hash"]}","kind":"details_edited"'.encode() in exported
    verification = await (await engagement.get("/api/v1/ledger/verification")).json()
    assert verification["verifies"] is True


async def test_an_edit_after_the_outcome_is_refused_and_changes_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    decision = await a_proposal(engagement, pool, method="administrative", members=[{"name": "Dana Cole"}])
    for to in ("consultation", "deliberation"):
        await decision.call("POST", "/stage", {"to": to})
    await decision.call("PUT", "/assessment", ASSESSMENT)
    votes = [{"member": 1, "vote": "for"}]
    await decision.call("POST", "/outcome", {"outcome": "approved", "votes": votes, "rationale": "Needed."})
    count = await entries_of(pool, decision.id)
    edit = {**decision.details, "title": "Something else", "members": [{"name": "Someone else"}]}

    refused = await decision.call("PUT", "", edit, 409)
    assert (
        refused["detail"] == "the outcome is recorded and the record is final: correct an entry of it instead"
    )
    answer = await engagement.put(decision.path, json=edit, headers=decision.organizer)
    assert answer.content_type == "application/problem+json"
    after = await decision.call("GET", "", None)
    assert after["decision"]["title"] == decision.record["decision"]["title"]
    assert [(v["name"], v["vote"]) for v in after["votes"]] == [("Dana Cole", "for")]
    assert await entries_of(pool, decision.id) == count

    console = f"/console/decisions/{decision.id}"
    page = await (await engagement.get(console, headers=decision.organizer)).text()
    assert 'id="details-final"' in page and f'action="{console}/details"' not in page
    csrf = csrf_of(page)
    typed = {
        "csrf": csrf,
        **{k: v for k, v in edit.items() if isinstance(v, str)},
        "document_links": "\n".join(edit["document_links"]),
        "members": "Someone else",
    }
    sent = await engagement.post(f"{console}/details", data=typed, headers=decision.organizer)
    assert sent.status == 409
    assert 'id="form-error"' in (text := await sent.text()) and "the record is final" in text
    assert await entries_of(pool, decision.id) == count


async def test_another_organisations_organizer_may_not_edit_nor_move_it_to_theirs(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    decision = await a_proposal(engagement, pool)
    count = await entries_of(pool, decision.id)
    other_organisation = await an_organisation(engagement)
    other = as_(f"organizer:{other_organisation}")
    edit = {**decision.details, "title": "Not theirs to change"}
    assert (await decision.call("PUT", "", edit, 403, who=other))["status"] == 403
    console = f"/console/decisions/{decision.id}"
    assert (await engagement.get(console, headers=other)).status == 403
    assert (await engagement.post(f"{console}/details", data={"title": "x"}, headers=other)).status == 403
    assert (await engagement.put(decision.path, json=edit)).status == 401

    # Its own organizer may not hand it to an organisation they do not write for; an admin may.
    moved = {**decision.details, "organisation_id": other_organisation}
    refused = await decision.call("PUT", "", moved, 403)
    assert refused["errors"] == [{"field": "organisation_id", "message": "not one of your organisations"}]
    unknown = await decision.call(
        "PUT", "", {**decision.details, "region_id": str(uuid.uuid4())}, 422, who=ADMIN
    )
    assert unknown["errors"] == [{"field": "region_id", "message": "no such region"}]
    assert await entries_of(pool, decision.id) == count
    record = await decision.call("PUT", "", moved, who=ADMIN)
    assert record["decision"]["organisation_id"] == other_organisation
    assert record["entries"][-1]["role"] == "admin"
    assert record["entries"][-1]["payload"]["changed"] == {
        "organisation_id": {"from": decision.details["organisation_id"], "to": other_organisation}
    }
    assert (await decision.call("PUT", "", edit, 403))["status"] == 403  # no longer its organizer's


async def test_a_panels_reviewers_are_fixed_once_scored_and_a_ballot_consults_by_survey(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    panel, _ = await a_panel(engagement, pool)
    decision = Decision(engagement, panel.organizer, await panel.call("GET", "", None))
    await panel.call("PUT", "/competition", {"places": 1, "criteria": CRITERIA})
    renamed = [
        {**member, "name": member["name"].replace("Rev.", "Dr.")} for member in decision.details["members"]
    ]
    # Before any score the panel may change (no vote, score or conflict names a place yet).
    record = await decision.call("PUT", "", {**decision.details, "members": renamed})
    assert [v["name"] for v in record["votes"]] == ["Dr. One", "Dr. Two", "Dr. Three"]
    decision.record = record
    application = (
        await panel.call("POST", "/applications", {"community": "Echo", "lead": "Echo Council"}, 201)
    )["id"]
    await panel.call("POST", "/stage", {"to": "consultation"})
    await panel.score(application, 1, (5, 5))
    count = await entries_of(pool, decision.id)
    refused = await decision.call("PUT", "", {**decision.details, "members": renamed[:2]}, 409)
    assert refused["errors"][0]["field"] == "members" and "reviewers are fixed" in refused["detail"]
    council = await decision.call("PUT", "", {**decision.details, "body": "city_council"}, 409)
    assert council["errors"][0]["field"] == "body"
    assert await entries_of(pool, decision.id) == count
    # Its title still may change.
    assert (await decision.call("PUT", "", {**decision.details, "title": "Designate makers"}))["decision"][
        "title"
    ] == "Designate makers"

    hearing = await a_proposal(engagement, pool)
    await hearing.call("POST", "/consultations", {"kind": "meeting", "target_id": str(uuid.uuid4())})
    ballot = {**hearing.details, "body": "resident_ballot", "method": "resident_ballot", "members": []}
    refused = await hearing.call("PUT", "", ballot, 409)
    assert refused["errors"][0]["field"] == "method"
    bad = await hearing.call("PUT", "", {**hearing.details, "method": "resident_ballot"}, 422)
    assert bad["status"] == 422


async def test_the_console_form_edits_the_details(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    decision = await a_proposal(engagement, pool, title="Rezone the Nortside site")
    console = f"/console/decisions/{decision.id}"
    page = await (await engagement.get(console, headers=decision.organizer)).text()
    assert f'action="{console}/details"' in page
    assert 'value="Rezone the Nortside site"' in page
    assert "Rosa Díaz, District 1\nTom Chen, District 2\nAna Ruiz, District 3</textarea>" in page
    assert "https://example.org/staff-report.pdf</textarea>" in page
    csrf = csrf_of(page)
    typed = {
        "csrf": csrf,
        "organisation_id": decision.details["organisation_id"],
        "region_id": decision.details["region_id"],
        "title": "Rezone the Northside site",
        "site": "Northside industrial site",
        "description": "From heavy industry to mixed use with 400 homes.",
        "document_links": "ftp://not-a-web-link",
        "body": "city_council",
        "method": "majority",
        "members": "Rosa Díaz, District 1\nTom Chen, District 2\nAna Ruiz, District 3",
    }

    async def send(status: int, **data: str) -> str:
        answer = await engagement.post(
            f"{console}/details", data={**typed, **data}, headers=decision.organizer, allow_redirects=False
        )
        assert answer.status == status, await answer.text()
        return answer.headers.get("Location") or await answer.text()

    refused = await send(422)
    assert 'id="document_links-error"' in refused and "ftp://not-a-web-link</textarea>" in refused
    assert 'value="Rezone the Northside site"' in refused  # what was typed, kept
    ballot = await send(422, document_links="", method="resident_ballot")
    assert 'id="method-error"' in ballot
    assert 'id="form-error"' in await send(422, csrf="expired", document_links="")
    assert await entries_of(pool, decision.id) == 1

    assert await send(303, document_links="https://example.org/staff-report.pdf") == f"{console}?saved=1"
    saved = await (await engagement.get(f"{console}?saved=1", headers=decision.organizer)).text()
    assert "Saved, and written in the ledger." in saved and 'value="Rezone the Northside site"' in saved
    public = await (await engagement.get(f"/decisions/{decision.id}")).text()
    assert "<h1>Rezone the Northside site</h1>" in public and "details edited" in public
    record = await decision.call("GET", "", None)
    assert record["entries"][-1]["payload"] == {
        "changed": {"title": {"from": "Rezone the Nortside site", "to": "Rezone the Northside site"}}
    }

    unchanged = await send(303, document_links="https://example.org/staff-report.pdf")
    assert unchanged == f"{console}?unchanged=1"
    told = await (await engagement.get(unchanged + "&lang=es", headers=decision.organizer)).text()
    assert "No cambió nada, así que nada se escribió en el registro." in told
    assert "Guardar los datos" in told
    assert await entries_of(pool, decision.id) == 2
