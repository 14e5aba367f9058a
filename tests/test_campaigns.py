"""Campaigns in engagement, against the real PostgreSQL: who may write which campaign, a draft
edited and launched (its event in the outbox with the status change, or neither), bad input as
a problem naming the field, the audience counted (erased people not, consent said), its reach
against the regions' households, the console's forms, and the demo's campaign."""

import random
import uuid

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.engagement import demo
from services.engagement.campaigns import changes
from services.engagement.people.erasing import erase_person
from services.notifications.deliveries.writing import NOTICES
from services.surveys.invitations.handlers import CAMPAIGNS as SURVEY_CAMPAIGNS
from shared.auth import ACCOUNT_HEADER, Account, Grant, Role
from shared.contracts import CampaignAudienceListed, Envelope
from tests import test_accounts
from tests.test_accounts import csrf_of
from tests.test_organisations import ADMIN, as_, audit_targets, unique

engagement = test_accounts.engagement


async def an_organisation(client: TestClient) -> str:
    created = await client.post(
        "/api/v1/organisations", json={"name": unique("Makers"), "kind": "nonprofit"}, headers=ADMIN
    )
    assert created.status == 201
    return str((await created.json())["id"])


def a_zip() -> str:
    return f"0{random.randrange(10_000):04d}"  # no real ZIP starts 00, few 0: others' people are elsewhere


async def a_county(pool: asyncpg.Pool, households: int | None, zips: list[str]) -> uuid.UUID:
    """A county with its household total (none: no baseline) and ZIP regions inside it."""
    county = uuid.uuid4()
    await pool.execute(
        "INSERT INTO regions (id, kind, name, geo_id) VALUES ($1, 'county', $2, $3)",
        county,
        unique("County"),
        f"0500000US9{random.randrange(10**9)}",
    )
    for zip_code in zips:
        await pool.execute(
            "INSERT INTO regions (kind, name, geo_id, parent_id) VALUES ('zip', $1, $2, $3)",
            f"ZIP {zip_code}",
            f"860Z200US{zip_code}",
            county,
        )
    if households is not None:
        await pool.execute(
            """INSERT INTO baselines (region_id, dimension, band, estimate, source_table, source_year)
               VALUES ($1, 'tenure', 'total', $2, 'B25003', 2024)""",
            county,
            households,
        )
    return county


async def a_person(
    pool: asyncpg.Pool, postal_code: str | None = None, *, confirmed: bool = False
) -> uuid.UUID:
    person_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO people (id, display_name, email, language, postal_code, consent_to_contact,
                               consent_confirmed_at)
           VALUES ($1, 'Resident', $2, 'en', $3, $4, CASE WHEN $4 THEN now() END)""",
        person_id,
        f"{person_id}@example.org",
        postal_code,
        confirmed,
    )
    return person_id


def draft(organisation_id: str, **audience: object) -> dict[str, object]:
    return {
        "organisation_id": organisation_id,
        "title": unique("Manufacturing the Dream"),
        "audience": audience,
    }


async def test_an_organizer_drafts_edits_launches_and_closes_their_organisations_campaign(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    created = await engagement.post("/api/v1/campaigns", json=draft(organisation_id), headers=organizer)
    assert created.status == 201, await created.text()
    campaign = await created.json()
    campaign_id = campaign["id"]
    assert campaign["status"] == "draft" and campaign["launched_at"] is None
    assert created.headers["Location"] == f"/api/v1/campaigns/{campaign_id}"

    survey = str(uuid.uuid4())
    meeting = str(uuid.uuid4())
    edited = {
        **draft(organisation_id, zip_codes=["94607"], tags=["manufacturing"]),
        "survey_ids": [survey],
        "meeting_ids": [meeting],
    }
    changed = await engagement.put(f"/api/v1/campaigns/{campaign_id}", json=edited, headers=organizer)
    assert changed.status == 200, await changed.text()
    assert (await changed.json())["survey_ids"] == [survey]

    other = as_(f"organizer:{uuid.uuid4()}")
    for method, path in [("GET", ""), ("PUT", ""), ("POST", "/launch"), ("GET", "/reach")]:
        response = await engagement.request(
            method, f"/api/v1/campaigns/{campaign_id}{path}", json=edited, headers=other
        )
        assert response.status == 403, (method, path)
    assert (await engagement.post("/api/v1/campaigns", json=edited, headers=other)).status == 403
    listed = await engagement.get("/api/v1/campaigns", headers=other)
    assert campaign_id not in [item["id"] for item in (await listed.json())["items"]]

    launched = await engagement.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=organizer)
    assert launched.status == 200 and (await launched.json())["status"] == "launched"
    [row] = await pool.fetch(
        "SELECT routing_key, payload FROM outbox WHERE aggregate = $1", f"campaign:{campaign_id}"
    )
    envelope = row["payload"]  # the pool decodes jsonb
    assert row["routing_key"] == "campaign.launched" and envelope["sequence"] == 1
    assert envelope["data"]["audience"] == {
        "region_ids": [],
        "zip_codes": ["94607"],
        "cop_ids": [],
        "tags": ["manufacturing"],
        "import_ids": [],
    }
    assert envelope["data"]["organisation_id"] == organisation_id
    assert set(envelope["data"]) == {
        "campaign_id", "organisation_id", "title", "audience", "launched_at", "meeting_ids"
    }  # fmt: skip
    assert envelope["data"]["meeting_ids"] == [meeting]  # its news links to them

    for method, path in [("PUT", ""), ("POST", "/launch")]:
        refused = await engagement.request(
            method, f"/api/v1/campaigns/{campaign_id}{path}", json=edited, headers=organizer
        )
        assert refused.status == 409, (method, path)
        assert (await refused.json())["errors"] == [
            {"field": "status", "message": "only a draft can be changed or launched"}
        ]
    closed = await engagement.post(f"/api/v1/campaigns/{campaign_id}/close", headers=organizer)
    assert (await closed.json())["status"] == "closed"
    assert (await engagement.post(f"/api/v1/campaigns/{campaign_id}/close", headers=organizer)).status == 409
    target = f"campaign:{campaign_id}"
    assert await audit_targets(pool, organizer[ACCOUNT_HEADER]) == [
        (action, target)
        for action in ("campaign.created", "campaign.changed", "campaign.launched", "campaign.closed")
    ]
    assert await audit_targets(pool, other[ACCOUNT_HEADER]) == []


async def test_a_draft_cannot_be_closed_and_a_launch_that_cannot_announce_leaves_a_draft(
    engagement: TestClient, pools: dict[str, asyncpg.Pool], monkeypatch: pytest.MonkeyPatch
) -> None:
    organisation_id = await an_organisation(engagement)
    created = await engagement.post("/api/v1/campaigns", json=draft(organisation_id), headers=ADMIN)
    campaign_id = (await created.json())["id"]
    draft_closed = await engagement.post(f"/api/v1/campaigns/{campaign_id}/close", headers=ADMIN)
    assert draft_closed.status == 409
    assert (await draft_closed.json())["detail"] == "only a launched campaign can be closed"

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the outbox is unwritable")

    monkeypatch.setattr(changes, "emit", broken)
    with pytest.raises(RuntimeError):
        await changes.Writer(
            pools["engagement"],
            Account(id=uuid.uuid4(), grants=frozenset({Grant(role=Role.ADMIN)})),
            "t",
            "r",
        ).take(uuid.UUID(campaign_id), changes.Step.LAUNCH)
    after = await engagement.get(f"/api/v1/campaigns/{campaign_id}", headers=ADMIN)
    assert (await after.json())["status"] == "draft"
    assert (
        await pools["engagement"].fetchval(
            "SELECT count(*) FROM audit_log WHERE target = $1 AND action = 'campaign.launched'",
            f"campaign:{campaign_id}",
        )
        == 0
    )


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"title": " "}, 422, "title"),
        ({"title": "Two\nlines"}, 422, "title"),
        ({"audience": {"zip_codes": ["9460"]}}, 422, "audience.zip_codes.0"),
        ({"audience": {"tags": ["one;two"]}}, 422, "audience.tags.0"),
        ({"audience": {"tags": ["same", "Same "]}}, 422, "audience"),
        ({"audience": {"region_ids": [str(uuid.uuid4())]}}, 422, "audience.region_ids"),
        ({"audience": {"cop_ids": [str(uuid.uuid4())]}}, 422, "audience.cop_ids"),
        ({"organisation_id": str(uuid.uuid4())}, 422, "organisation_id"),
        ({"status": "launched"}, 422, "status"),
    ],
)
async def test_a_bad_campaign_is_a_problem_naming_the_field_and_writes_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool], change: dict[str, object], status: int, field: str
) -> None:
    organisation_id = await an_organisation(engagement)
    admin = as_("admin")
    response = await engagement.post(
        "/api/v1/campaigns", json={**draft(organisation_id), **change}, headers=admin
    )
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    assert field in [error["field"] for error in (await response.json())["errors"]]
    assert await audit_targets(pools["engagement"], admin[ACCOUNT_HEADER]) == []
    assert (
        await pools["engagement"].fetchval(
            "SELECT count(*) FROM campaigns WHERE organisation_id = $1", uuid.UUID(organisation_id)
        )
        == 0
    )


async def test_the_audience_counts_people_by_region_zip_cop_and_tag_but_not_the_erased(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    in_region, typed_zip, elsewhere = a_zip(), a_zip(), a_zip()
    county = await a_county(pool, 1000, [in_region])
    await a_person(pool, in_region, confirmed=True)
    await a_person(pool, f"{typed_zip}-1234")
    erased = await a_person(pool, in_region, confirmed=True)
    await a_person(pool, elsewhere, confirmed=True)
    member, tagged = await a_person(pool), await a_person(pool, confirmed=True)
    cop = await (
        await engagement.post("/api/v1/cops", json={"topic": unique("Equity")}, headers=ADMIN)
    ).json()
    assert (
        await engagement.post(
            f"/api/v1/cops/{cop['id']}/members", json={"person_id": str(member)}, headers=ADMIN
        )
    ).status == 201
    tag = "youth council " + uuid.uuid4().hex[:8]
    await pool.execute("UPDATE people SET tags = $2 WHERE id = ANY($1)", [tagged, member], ["x", tag])  # once
    city = uuid.uuid4()  # people an import placed in a region inside the county, without a ZIP code
    await pool.execute(
        "INSERT INTO regions (id, kind, name, parent_id) VALUES ($1, 'city', 'Town', $2)", city, county
    )
    await pool.execute("UPDATE people SET region_id = $2 WHERE id = $1", await a_person(pool), city)
    async with pool.acquire() as conn:
        await erase_person(conn, erased)

    organisation_id = await an_organisation(engagement)
    audience = {
        "region_ids": [str(county)],
        "zip_codes": [typed_zip],
        "cop_ids": [cop["id"]],
        "tags": [tag.upper()],
    }
    created = await engagement.post(
        "/api/v1/campaigns", json=draft(organisation_id, **audience), headers=ADMIN
    )
    reach = await (
        await engagement.get(f"/api/v1/campaigns/{(await created.json())['id']}/reach", headers=ADMIN)
    ).json()
    assert reach["audience"] == {"people": 5, "consenting": 2}
    assert [r["people"] for r in reach["regions"]] == [2]
    assert reach["contacted"] == 0  # counted from notifications' sends (tests/test_campaign_contacted.py)
    assert (reach["registered"], reach["attended"]) == (0, 0)  # tests/test_campaign_reach_meetings.py
    assert reach["responded"] == 0  # measured now (tests/test_campaign_responses.py): no one yet


async def test_reach_names_the_region_under_represented_against_its_households(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    zips = [a_zip() for _ in range(3)]
    big = await a_county(pool, 3000, [zips[0]])
    small = await a_county(pool, 1000, [zips[1]])
    unmeasured = await a_county(pool, None, [zips[2]])
    for _ in range(3):
        await a_person(pool, zips[1])
    await a_person(pool, zips[0])
    await a_person(pool, zips[2])
    organisation_id = await an_organisation(engagement)
    regions = [str(big), str(small), str(unmeasured)]
    created = await engagement.post(
        "/api/v1/campaigns", json=draft(organisation_id, region_ids=regions), headers=ADMIN
    )
    reach = await (
        await engagement.get(f"/api/v1/campaigns/{(await created.json())['id']}/reach", headers=ADMIN)
    ).json()
    assert [r["region_id"] for r in reach["regions"]] == regions  # in the campaign's order
    by_id = {r["region_id"]: r for r in reach["regions"]}
    assert by_id[str(big)]["audience_share"] == 0.25 and by_id[str(big)]["population_share"] == 0.75
    assert by_id[str(unmeasured)]["households"] is None and by_id[str(unmeasured)]["representation"] is None
    assert reach["under_represented"] == [str(big)]


async def test_the_console_keeps_what_was_typed_beside_an_error_then_saves_shows_reach_and_launches(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    form = await engagement.get("/console/campaigns/new", headers=organizer)
    html = await form.text()
    assert f'value="{organisation_id}"' in html
    typed = {
        "csrf": csrf_of(html),
        "organisation_id": organisation_id,
        "title": "Dream",
        "zip_codes": "94607, 946",
    }
    refused = await engagement.post("/console/campaigns/new", data=typed, headers=organizer)
    assert refused.status == 422
    page = await refused.text()
    assert 'id="zip_codes-error"' in page and 'value="94607, 946"' in page and 'value="Dream"' in page
    expired = await engagement.post("/console/campaigns/new", data={**typed, "csrf": "x"}, headers=organizer)
    assert expired.status == 422 and 'id="form-error"' in await expired.text()

    saved = await engagement.post(
        "/console/campaigns/new",
        data={**typed, "zip_codes": a_zip()},
        headers=organizer,
        allow_redirects=False,
    )
    assert saved.status == 303
    location = saved.headers["Location"]
    page = await (await engagement.get(location, headers=organizer)).text()
    assert "0 people in the audience" in page and "0 people of the audience came to its meetings" in page
    launched = await engagement.post(
        location.split("?")[0] + "/launch",
        data={"csrf": csrf_of(page)},
        headers=organizer,
        allow_redirects=False,
    )
    assert launched.status == 303
    page = await (await engagement.get(launched.headers["Location"], headers=organizer)).text()
    assert "Launched" in page and "Edit the draft" not in page
    late = {**typed, "csrf": csrf_of(page), "title": "Changed after launch", "zip_codes": ""}
    too_late = await engagement.post(location.split("?")[0], data=late, headers=organizer)
    assert too_late.status == 422 and "only a draft can be changed" in await too_late.text()
    assert "Changed after launch" not in await (await engagement.get(location, headers=organizer)).text()
    other = as_(f"organizer:{uuid.uuid4()}")
    assert (await engagement.get(location, headers=other)).status == 403
    refused_launch = await engagement.post(
        location.split("?")[0] + "/close", data={"csrf": "x"}, headers=other
    )
    assert refused_launch.status == 403
    spanish = await engagement.get(location.split("?")[0] + "?lang=es", headers=organizer)
    assert "0 personas del público asistieron a sus reuniones" in await spanish.text()


async def test_the_demo_campaign_loads_once_over_the_bay_area_counties(
    pools: dict[str, asyncpg.Pool],
) -> None:
    async with pools["engagement"].acquire() as conn:
        await demo.load(conn)
        await demo.load_regions(conn)
        await demo.load_community(conn)
        await demo.load_campaigns(conn)
        assert await demo.load_campaigns(conn) == 0
        row = await conn.fetchrow(
            "SELECT title, status, is_demo FROM campaigns WHERE id = $1", demo.DEMO_CAMPAIGN_ID
        )
        regions = await conn.fetchval(
            "SELECT count(*) FROM campaign_regions WHERE campaign_id = $1", demo.DEMO_CAMPAIGN_ID
        )
    assert row is not None
    assert row["title"] == "Demo: Manufacturing the Dream" and row["is_demo"] and row["status"] == "draft"
    assert regions == 9


async def test_a_campaign_without_a_survey_still_lists_its_audience_for_its_news(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    """Its news reaches the audience (by their consent, notifications' to judge); surveys,
    binding the same event, invites no one."""
    pool, zip_code = pools["engagement"], a_zip()
    people = {await a_person(pool, zip_code, confirmed=True), await a_person(pool, zip_code)}
    organisation_id = await an_organisation(engagement)
    created = await engagement.post(
        "/api/v1/campaigns", json=draft(organisation_id, zip_codes=[zip_code]), headers=ADMIN
    )
    campaign_id = (await created.json())["id"]
    assert (await engagement.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=ADMIN)).status == 200

    [row] = await pool.fetch(
        """SELECT payload FROM outbox WHERE routing_key = 'campaign.audience_listed'
           AND payload -> 'data' ->> 'campaign_id' = $1""",
        campaign_id,
    )
    envelope = Envelope.model_validate(row["payload"])
    listed = CampaignAudienceListed.model_validate(envelope.data)
    assert listed.survey_ids == () and {m.person_id for m in listed.members} == people

    for service, subscription in (("notifications", NOTICES), ("surveys", SURVEY_CAMPAIGNS)):
        async with pools[service].acquire() as conn, conn.transaction():
            await subscription.handler_for(listed)(listed, conn, envelope)
    news = await pools["notifications"].fetch(
        "SELECT person_id FROM deliveries WHERE subject = $1 AND kind = 'campaign_news'",
        f"campaign:{campaign_id}",
    )
    assert {r["person_id"] for r in news} == people
    invited = await pools["surveys"].fetchval(
        "SELECT count(*) FROM invitations WHERE person_id = ANY ($1)", list(people)
    )
    assert invited == 0
