"""A campaign's audience naming imported lists of people, against the real PostgreSQL: the
imports recorded as the console uploads them, an audience counting exactly the people a list
brought (once, however many criteria hold them; the erased not), an unknown import refused
naming the field with nothing written, the launch event naming the imports by id, the console's
checkboxes, and the imports made before they were recorded taken from their audit entries."""

import uuid
from pathlib import Path

import asyncpg
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from services.engagement.people.erasing import erase_person
from shared.auth import ACCOUNT_HEADER
from shared.migrations import discover, migrate
from shared.settings import Settings
from tests import test_accounts
from tests.test_accounts import csrf_of
from tests.test_campaigns import a_county, a_person, a_zip, an_organisation, draft
from tests.test_organisations import ADMIN, as_, audit_targets

engagement = test_accounts.engagement
MIGRATIONS = Path(__file__).resolve().parent.parent / "services" / "engagement" / "migrations"


def a_file_name() -> str:
    return f"tenants-{uuid.uuid4().hex[:8]}.csv"


async def an_import(
    client: TestClient, pool: asyncpg.Pool, importer: dict[str, str], file_name: str, rows: list[str]
) -> uuid.UUID:
    """Upload ``rows`` (name,email,zip) through the console as ``file_name``; the import's id."""
    form = await client.get("/console/people/import", headers=importer)
    upload = FormData()
    upload.add_field("csrf", csrf_of(await form.text()))
    body = ("name,email,zip\n" + "\n".join(rows) + "\n").encode()
    upload.add_field("file", body, filename=file_name, content_type="text/csv")
    posted = await client.post("/console/people/import", data=upload, headers=importer, allow_redirects=False)
    assert posted.status == 303, await posted.text()
    import_id: uuid.UUID = await pool.fetchval(
        "SELECT id FROM people_imports WHERE file_name = $1", file_name
    )
    return import_id


def people(count: int, zip_code: str = "") -> list[str]:
    return [f"Tenant,{uuid.uuid4().hex}@example.org,{zip_code}" for _ in range(count)]


async def _size(client: TestClient, campaign_id: str) -> dict[str, int]:
    reach = await (await client.get(f"/api/v1/campaigns/{campaign_id}/reach", headers=ADMIN)).json()
    audience: dict[str, int] = reach["audience"]
    return audience


async def test_an_audience_of_an_imported_list_counts_its_people_once_and_not_the_erased(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    importer = as_(f"organizer:{uuid.uuid4()}")  # of another organisation than the campaign's
    zip_code = a_zip()
    county = await a_county(pool, 1000, [zip_code])
    first_name, second_name = a_file_name(), a_file_name()
    first = await an_import(engagement, pool, importer, first_name, people(1, zip_code) + people(2))
    second = await an_import(engagement, pool, importer, second_name, people(2))
    recorded = await pool.fetchrow(
        "SELECT account_id, people_created FROM people_imports WHERE id = $1", first
    )
    assert tuple(recorded) == (uuid.UUID(importer[ACCOUNT_HEADER]), 3)
    await a_person(pool, zip_code)  # in the county, in no list

    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    created = await engagement.post(
        "/api/v1/campaigns", json=draft(organisation_id, import_ids=[str(first)]), headers=organizer
    )
    assert created.status == 201, await created.text()
    campaign = await created.json()
    assert campaign["audience"]["import_ids"] == [str(first)]
    assert await _size(engagement, campaign["id"]) == {"people": 3, "consenting": 0}
    both = await engagement.post(
        "/api/v1/campaigns",
        json=draft(organisation_id, import_ids=[str(first)], region_ids=[str(county)]),
        headers=organizer,
    )
    # The list's person in the county is one person: 3 from the list, 1 only in the county.
    assert (await _size(engagement, (await both.json())["id"]))["people"] == 4
    # Any organizer may target any import: the audit entry says who did.
    assert await audit_targets(pool, organizer[ACCOUNT_HEADER]) == [
        ("campaign.created", f"campaign:{campaign['id']}"),
        ("campaign.created", f"campaign:{(await both.json())['id']}"),
    ]

    in_first = await pool.fetch("SELECT id FROM people WHERE import_id = $1", first)
    async with pool.acquire() as conn:
        await erase_person(conn, in_first[0]["id"])
    assert (await _size(engagement, campaign["id"]))["people"] == 2
    both_lists = await engagement.put(
        f"/api/v1/campaigns/{campaign['id']}",
        json={**draft(organisation_id, import_ids=[str(second), str(first)])},
        headers=organizer,
    )
    assert (await both_lists.json())["audience"]["import_ids"] == [str(second), str(first)]  # as listed
    assert (await _size(engagement, campaign["id"]))["people"] == 4

    launched = await engagement.post(f"/api/v1/campaigns/{campaign['id']}/launch", headers=organizer)
    assert launched.status == 200
    envelope = await pool.fetchval(
        "SELECT payload FROM outbox WHERE aggregate = $1", f"campaign:{campaign['id']}"
    )
    assert envelope["data"]["audience"]["import_ids"] == [str(second), str(first)]
    assert set(envelope["data"]["audience"]) == {"region_ids", "zip_codes", "cop_ids", "tags", "import_ids"}
    assert second_name not in str(envelope) and "@example.org" not in str(envelope)  # ids only


async def test_an_unknown_import_is_a_problem_naming_the_field_and_writes_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    unknown = {"import_ids": [str(uuid.uuid4())]}
    response = await engagement.post(
        "/api/v1/campaigns", json=draft(organisation_id, **unknown), headers=organizer
    )
    assert response.status == 422, await response.text()
    assert (await response.json())["errors"] == [
        {"field": "audience.import_ids", "message": "no such import"}
    ]
    campaigns = "SELECT count(*) FROM campaigns WHERE organisation_id = $1"
    assert await pool.fetchval(campaigns, uuid.UUID(organisation_id)) == 0
    assert await audit_targets(pool, organizer[ACCOUNT_HEADER]) == []

    known = await an_import(engagement, pool, organizer, a_file_name(), people(1))
    created = await engagement.post(
        "/api/v1/campaigns", json=draft(organisation_id, import_ids=[str(known)]), headers=organizer
    )
    campaign_id = (await created.json())["id"]
    changed = await engagement.put(
        f"/api/v1/campaigns/{campaign_id}",
        json=draft(organisation_id, import_ids=[str(known), unknown["import_ids"][0]]),
        headers=organizer,
    )
    assert changed.status == 422
    kept = await (await engagement.get(f"/api/v1/campaigns/{campaign_id}", headers=organizer)).json()
    assert kept["audience"]["import_ids"] == [str(known)]
    repeated = await engagement.post(
        "/api/v1/campaigns", json=draft(organisation_id, import_ids=[str(known)] * 2), headers=organizer
    )
    assert repeated.status == 422
    # A repeat is the audience's own rule, as for its regions: named on the audience.
    [error] = (await repeated.json())["errors"]
    assert error["field"] == "audience" and "import_ids names one twice" in error["message"]


async def test_the_console_lists_imports_newest_first_and_keeps_the_choice_beside_an_error(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    older_name, newer_name = a_file_name(), a_file_name()
    older = await an_import(engagement, pool, organizer, older_name, people(3))
    newer = await an_import(engagement, pool, organizer, newer_name, people(2))
    day = (await pool.fetchval("SELECT imported_at FROM people_imports WHERE id = $1", older)).strftime(
        "%Y-%m-%d"
    )
    form = await (await engagement.get("/console/campaigns/new", headers=organizer)).text()
    assert f"{older_name}, {day}, 3 people" in form and f"{newer_name}, {day}, 2 people" in form
    assert form.index(newer_name) < form.index(older_name)
    assert f'value="{older}" >' in form  # not ticked yet

    typed = {
        "csrf": csrf_of(form),
        "organisation_id": organisation_id,
        "title": "Dream",
        "zip_codes": "946",
        "import_ids": str(older),
    }
    refused = await engagement.post("/console/campaigns/new", data=typed, headers=organizer)
    assert refused.status == 422
    page = await refused.text()
    assert 'id="zip_codes-error"' in page
    assert f'value="{older}" checked' in page and f'value="{newer}" checked' not in page

    saved = await engagement.post(
        "/console/campaigns/new", data={**typed, "zip_codes": ""}, headers=organizer, allow_redirects=False
    )
    assert saved.status == 303
    page = await (await engagement.get(saved.headers["Location"], headers=organizer)).text()
    assert "3 people in the audience" in page and f'value="{older}" checked' in page
    gone = {**typed, "csrf": csrf_of(page), "zip_codes": "", "import_ids": str(uuid.uuid4())}
    unknown = await engagement.post(saved.headers["Location"].split("?")[0], data=gone, headers=organizer)
    assert unknown.status == 422 and 'id="import_ids-error"' in await unknown.text()
    spanish = await engagement.get("/console/campaigns/new?lang=es", headers=organizer)
    assert f"{older_name}, {day}, 3 personas" in await spanish.text()


async def test_imports_made_before_they_were_recorded_are_taken_from_their_audit_entries(
    run_settings: Settings,
) -> None:
    """Their id, when and who, from the audit entry; not a file name or a count no one kept."""
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    migrations = discover(MIGRATIONS)
    before = migrations[: [m.name for m in migrations].index("0010_campaign_import_lists.sql")]
    conn = await asyncpg.connect(run_settings.migration_database_url)
    try:
        await migrate(conn, schema, before)
        import_id, account_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            f"""INSERT INTO {schema}.audit_log (account_id, roles, action, target, service, request_id)
                VALUES ($1, '{{organizer}}', 'people.imported', $2, 'engagement', 'r'),
                       ($1, '{{organizer}}', 'campaign.created', $3, 'engagement', 'r')""",
            account_id,
            f"import:{import_id}",
            f"campaign:{uuid.uuid4()}",
        )
        # 0010 and whatever came after it
        assert (await migrate(conn, schema, migrations))[0] == "0010_campaign_import_lists.sql"
        rows = await conn.fetch(
            f"""SELECT i.id, i.account_id, i.file_name, i.people_created, i.imported_at = a.at AS same_time
                FROM {schema}.people_imports i JOIN {schema}.audit_log a ON a.target = 'import:' || i.id"""
        )
        assert [tuple(row) for row in rows] == [(import_id, account_id, None, None, True)]
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()
