"""Organisations and CoPs in engagement, against the real PostgreSQL: the JSON API (who may
write what, problems for bad input, an audit entry with every write), the console's forms
(errors beside the field, what was typed kept, CSRF) and the public page to ask to join a CoP."""

import uuid

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.engagement import demo
from shared.auth import ACCOUNT_HEADER, ROLES_HEADER
from tests import test_accounts
from tests.test_accounts import csrf_of

engagement = test_accounts.engagement  # the app, as the accounts' tests start it


def as_(roles: str) -> dict[str, str]:
    """What nginx passes on for a signed-in account holding ``roles``."""
    return {ACCOUNT_HEADER: str(uuid.uuid4()), ROLES_HEADER: roles}


ADMIN = as_("admin")


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


async def a_person(pool: asyncpg.Pool, person_id: uuid.UUID, name: str, email: str) -> None:
    """A registered person, written as registration leaves one (registration has tests of its own)."""
    await pool.execute(
        """INSERT INTO people (id, display_name, email, language, consent_to_contact)
           VALUES ($1, $2, $3, 'en', false)""",
        person_id,
        name,
        email,
    )


async def audit_targets(pool: asyncpg.Pool, account_id: str) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT action, target FROM audit_log WHERE account_id = $1 ORDER BY id", uuid.UUID(account_id)
    )
    return [(row["action"], row["target"]) for row in rows]


async def test_an_admin_creates_an_organisation_its_organizer_edits_it_and_no_other_can(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    admin = as_("admin")  # an account of this test's own: its audit entries are only this test's
    name = unique("Riverside Makers Guild")
    created = await engagement.post(
        "/api/v1/organisations", json={"name": name, "kind": "nonprofit"}, headers=admin
    )
    assert created.status == 201, await created.text()
    organisation = await created.json()
    assert organisation["name"] == name and organisation["region_id"] is None and not organisation["is_demo"]
    assert created.headers["Location"] == f"/api/v1/organisations/{organisation['id']}"
    assert await audit_targets(pools["engagement"], admin[ACCOUNT_HEADER]) == [
        ("organisation.created", f"organisation:{organisation['id']}")
    ]

    organizer = as_(f"organizer:{organisation['id']}")
    renamed = {"name": f"  {name} Co-op ", "kind": "business"}
    changed = await engagement.put(
        f"/api/v1/organisations/{organisation['id']}", json=renamed, headers=organizer
    )
    assert changed.status == 200, await changed.text()
    assert (await changed.json())["name"] == f"{name} Co-op"  # stripped
    assert await audit_targets(pools["engagement"], organizer[ACCOUNT_HEADER]) == [
        ("organisation.changed", f"organisation:{organisation['id']}")
    ]

    other = as_(f"organizer:{uuid.uuid4()}")
    refused = await engagement.put(f"/api/v1/organisations/{organisation['id']}", json=renamed, headers=other)
    assert refused.status == 403
    assert (await engagement.post("/api/v1/organisations", json=renamed, headers=organizer)).status == 403
    assert await audit_targets(pools["engagement"], other[ACCOUNT_HEADER]) == []

    found = await engagement.get(f"/api/v1/organisations?q={name[-8:]}", headers=other)
    assert [item["kind"] for item in (await found.json())["items"]] == ["business"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "", "kind": "nonprofit"}, 422, "name"),
        ({"name": "Line\nbreak", "kind": "nonprofit"}, 422, "name"),
        ({"name": "A guild", "kind": "cartel"}, 422, "kind"),
        ({"name": "A guild", "kind": "union", "region_id": str(uuid.uuid4())}, 422, "region_id"),
        ({"name": "A guild", "kind": "union", "is_demo": True}, 422, "is_demo"),
    ],
)
async def test_a_bad_organisation_is_a_problem_naming_the_field_and_writes_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool], body: dict[str, object], status: int, field: str
) -> None:
    admin = as_("admin")
    response = await engagement.post("/api/v1/organisations", json=body, headers=admin)
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert field in [error["field"] for error in (await response.json())["errors"]]
    assert await audit_targets(pools["engagement"], admin[ACCOUNT_HEADER]) == []


async def test_a_second_organisation_of_the_same_name_is_a_conflict(engagement: TestClient) -> None:
    name = unique("Harbor Union")
    first = await engagement.post(
        "/api/v1/organisations", json={"name": name, "kind": "union"}, headers=ADMIN
    )
    assert first.status == 201
    again = await engagement.post(
        "/api/v1/organisations", json={"name": name.upper(), "kind": "union"}, headers=ADMIN
    )
    assert again.status == 409
    assert (await again.json())["errors"][0]["field"] == "name"


async def test_a_cops_lead_adds_and_removes_people_and_organisations(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    created = await engagement.post("/api/v1/cops", json={"topic": unique("Makerspaces")}, headers=ADMIN)
    assert created.status == 201
    cop_id = (await created.json())["id"]
    organisation = await engagement.post(
        "/api/v1/organisations", json={"name": unique("Tool Library"), "kind": "other"}, headers=ADMIN
    )
    organisation_id = (await organisation.json())["id"]
    person_id = uuid.uuid4()
    await a_person(pool, person_id, "Ana", f"{person_id}@example.org")
    lead = as_(f"cop_lead:{cop_id}")
    members = f"/api/v1/cops/{cop_id}/members"
    for body in ({"person_id": str(person_id)}, {"organisation_id": organisation_id}):
        added = await engagement.post(members, json=body, headers=lead)
        assert added.status == 201, await added.text()
    assert (await engagement.post(members, json={"person_id": str(person_id)}, headers=lead)).status == 409
    unknown = await engagement.post(members, json={"person_id": str(uuid.uuid4())}, headers=lead)
    assert unknown.status == 422
    both = await engagement.post(
        members, json={"person_id": str(person_id), "organisation_id": organisation_id}, headers=lead
    )
    assert both.status == 422
    other_lead = as_(f"cop_lead:{uuid.uuid4()}")
    assert (
        await engagement.post(members, json={"person_id": str(person_id)}, headers=other_lead)
    ).status == 403

    listed = (await (await engagement.get(members, headers=lead)).json())["items"]
    assert sorted(item["name"] for item in listed) == sorted(["Ana", (await organisation.json())["name"]])
    removed = await engagement.delete(f"{members}/{listed[0]['id']}", headers=lead)
    assert removed.status == 204
    assert (await engagement.delete(f"{members}/{listed[0]['id']}", headers=lead)).status == 404
    assert [action for action, _ in await audit_targets(pool, lead[ACCOUNT_HEADER])] == [
        "cop.member_added",
        "cop.member_added",
        "cop.member_removed",
    ]
    cop = await (await engagement.get(f"/api/v1/cops/{cop_id}", headers=other_lead)).json()
    assert cop["members"] == 1


async def test_lists_are_searched_and_paged(engagement: TestClient) -> None:
    marker = uuid.uuid4().hex[:8]
    for n in range(27):
        response = await engagement.post(
            "/api/v1/cops", json={"topic": f"Paging {marker} {n:02}"}, headers=ADMIN
        )
        assert response.status == 201
    first = await (await engagement.get(f"/api/v1/cops?q={marker}", headers=ADMIN)).json()
    second = await (await engagement.get(f"/api/v1/cops?q={marker}&page=2", headers=ADMIN)).json()
    assert (first["pages"], len(first["items"]), len(second["items"])) == (2, 25, 2)
    assert second["items"][-1]["topic"] == f"Paging {marker} 26"
    # A search's % and _ are the characters themselves, not wildcards.
    assert (await (await engagement.get("/api/v1/cops?q=%25_%25", headers=ADMIN)).json())["items"] == []
    bad = await engagement.get("/api/v1/cops?page=0", headers=ADMIN)
    assert bad.status == 422 and bad.content_type == "application/problem+json"


async def test_the_console_form_keeps_what_was_typed_beside_the_error_then_saves(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    admin = as_("admin")
    page = await engagement.get("/console/organisations/new", headers=admin)
    assert page.status == 200
    token = csrf_of(await page.text())
    name = unique("Eastside Workforce Board")
    taken = await engagement.post(
        "/api/v1/organisations", json={"name": name, "kind": "government"}, headers=admin
    )
    assert taken.status == 201
    form = {"csrf": token, "name": name, "kind": "government", "region_id": ""}
    again = await engagement.post(
        "/console/organisations/new", data=form, headers=admin, allow_redirects=False
    )
    assert again.status == 422
    html = await again.text()
    assert 'id="name-error"' in html and "Another organisation has this name." in html
    assert f'value="{name}"' in html

    expired = await engagement.post(
        "/console/organisations/new", data={**form, "csrf": "forged"}, headers=admin, allow_redirects=False
    )
    assert expired.status == 422 and "This form had expired" in await expired.text()

    spanish = await engagement.post(
        "/console/organisations/new?lang=es", data={**form, "name": ""}, headers=admin, allow_redirects=False
    )
    assert 'aria-invalid="true"' in await spanish.text()
    assert "Escriba un nombre" in await spanish.text()

    saved = await engagement.post(
        "/console/organisations/new",
        data={**form, "name": name + " II"},
        headers=admin,
        allow_redirects=False,
    )
    assert saved.status == 303
    actions = await audit_targets(pools["engagement"], admin[ACCOUNT_HEADER])
    assert [action for action, _ in actions] == ["organisation.created", "organisation.created"]


async def test_a_resident_asks_to_join_and_the_lead_settles_it_by_adding_them(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    created = await engagement.post("/api/v1/cops", json={"topic": unique("Land Use")}, headers=ADMIN)
    cop_id = (await created.json())["id"]
    page = await engagement.get(f"/cops/{cop_id}/join")  # nobody signed in
    assert page.status == 200
    token = csrf_of(await page.text())
    bad = await engagement.post(f"/cops/{cop_id}/join", data={"csrf": token, "name": "Luz", "email": "luz@"})
    assert bad.status == 422 and 'value="luz@"' in await bad.text()
    email = f"luz-{uuid.uuid4().hex[:6]}@example.org"
    for _ in range(2):  # asking twice is one request
        asked = await engagement.post(
            f"/cops/{cop_id}/join", data={"csrf": token, "name": "Luz", "email": email}, allow_redirects=False
        )
        assert asked.status == 303
    forged = await engagement.post(
        f"/cops/{cop_id}/join", data={"csrf": "x", "name": "Eve", "email": "e@example.org"}
    )
    assert forged.status == 422
    rows = await pool.fetch("SELECT name, email FROM cop_join_requests WHERE cop_id = $1", uuid.UUID(cop_id))
    assert [(row["name"], row["email"]) for row in rows] == [("Luz", email)]

    lead = as_(f"cop_lead:{cop_id}")
    console = await engagement.get(f"/console/cops/{cop_id}", headers=lead)
    assert email in await console.text()
    lead_token = csrf_of(await console.text())
    unregistered = await engagement.post(
        f"/console/cops/{cop_id}/members", data={"csrf": lead_token, "email": email}, headers=lead
    )
    assert unregistered.status == 422 and "ask them to register first" in await unregistered.text()
    person_id = uuid.uuid4()
    await a_person(pool, person_id, "Luz", email)
    added = await engagement.post(
        f"/console/cops/{cop_id}/members",
        data={"csrf": lead_token, "email": email.upper()},
        headers=lead,
        allow_redirects=False,
    )
    assert added.status == 303
    assert (
        await pool.fetchval("SELECT count(*) FROM cop_join_requests WHERE cop_id = $1", uuid.UUID(cop_id))
        == 0
    )
    assert (
        await pool.fetchval("SELECT person_id FROM cop_members WHERE cop_id = $1", uuid.UUID(cop_id))
        == person_id
    )


async def test_the_demo_loads_the_alliances_cops_and_organisations_once(
    pools: dict[str, asyncpg.Pool],
) -> None:
    async with pools["engagement"].acquire() as conn:
        await demo.load_regions(conn)  # the organisations' home regions
        await demo.load_community(conn)
        again = await demo.load_community(conn)
        topics = await conn.fetch("SELECT topic FROM cops WHERE is_demo ORDER BY topic")
    assert again == 0
    assert [row["topic"] for row in topics] == [
        "Equity",
        "Land Use",
        "Local Branding",
        "Workforce Development",
    ]
