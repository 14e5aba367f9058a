"""A campaign's reach counts who of its audience registered for its linked meetings (holding a
seat or waiting for one) and who came, in engagement's own SQL (campaigns/store.py), on the
campaign's API and page in English and Spanish. Against the real PostgreSQL."""

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp.test_utils import TestClient

from services.engagement.people import PersonRegistration
from services.engagement.registration import register_person
from tests import test_accounts
from tests.test_campaign_responses import cells
from tests.test_campaigns import a_zip, an_organisation, draft
from tests.test_organisations import ADMIN
from tests.test_people_registration import address

engagement = test_accounts.engagement


async def a_meeting(pool: asyncpg.Pool, organisation_id: str) -> uuid.UUID:
    meeting_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO meetings (id, kind, organisation_id, title, time_zone, starts_at, ends_at)
           VALUES ($1, 'in_person', $2, '{"en": "Reach"}', 'UTC', $3::timestamptz,
                   $3::timestamptz + interval '2 hours')""",
        meeting_id,
        uuid.UUID(organisation_id),
        datetime.now(UTC) - timedelta(days=1),
    )
    return meeting_id


async def a_person(pool: asyncpg.Pool, postal_code: str) -> uuid.UUID:
    async with pool.acquire() as conn:
        registration = await register_person(
            conn, PersonRegistration(display_name="Ana", email=address("reach"), postal_code=postal_code)
        )
    return registration.person_id


async def registered(
    pool: asyncpg.Pool, meeting_id: uuid.UUID, person_id: uuid.UUID, status: str, *, came: bool = False
) -> None:
    await pool.execute(
        """INSERT INTO meeting_registrations (id, meeting_id, person_id, token_hash, display_name, email,
                                              language, status, confirmed_at, cancelled_at, attended_at)
           VALUES ($1, $2, $3, $4, 'Ana', 'ana@example.org', 'en', $5,
                   CASE WHEN $5 = 'confirmed' THEN now() END, CASE WHEN $5 = 'cancelled' THEN now() END,
                   CASE WHEN $6 THEN now() END)""",
        uuid.uuid4(),
        meeting_id,
        person_id,
        secrets.token_bytes(32),
        status,
        came,
    )


async def test_the_audience_registered_and_come_to_its_meetings_are_counted_once_each(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    zip_code, elsewhere = a_zip(), a_zip()
    linked, also_linked, unlinked = [await a_meeting(pool, organisation_id) for _ in range(3)]
    came, waiting, cancelled, twice, not_linked = [await a_person(pool, zip_code) for _ in range(5)]
    outsider = await a_person(pool, elsewhere)
    await registered(pool, linked, came, "confirmed", came=True)
    await registered(pool, also_linked, waiting, "waitlisted")
    await registered(pool, linked, cancelled, "cancelled")
    await registered(pool, linked, twice, "confirmed", came=True)  # two seats, at both meetings
    await registered(pool, also_linked, twice, "confirmed", came=True)
    await registered(pool, unlinked, not_linked, "confirmed", came=True)
    await registered(pool, linked, outsider, "confirmed", came=True)  # not in the audience
    created = await engagement.post(
        "/api/v1/campaigns",
        json={**draft(organisation_id, zip_codes=[zip_code]), "meeting_ids": [str(linked), str(also_linked)]},
        headers=ADMIN,
    )
    assert created.status == 201, await created.text()
    campaign_id = (await created.json())["id"]

    reach = await (await engagement.get(f"/api/v1/campaigns/{campaign_id}/reach", headers=ADMIN)).json()
    assert reach["audience"]["people"] == 5
    assert (reach["registered"], reach["attended"]) == (3, 2)  # came, waiting, twice; came, twice

    page = f"/console/campaigns/{campaign_id}"
    outreach = cells(await (await engagement.get(page, headers=ADMIN)).text(), "Outreach so far")
    assert [
        "Registered",
        "3 people of the audience holding or waiting for a seat at its meetings",
    ] in outreach
    assert ["Attended", "2 people of the audience came to its meetings"] in outreach
    spanish = cells(
        await (await engagement.get(f"{page}?lang=es", headers=ADMIN)).text(), "Alcance hasta ahora"
    )
    assert [
        "Registradas",
        "3 personas del público con plaza o en lista de espera en sus reuniones",
    ] in spanish
    assert ["Asistieron", "2 personas del público asistieron a sus reuniones"] in spanish


async def test_a_campaign_without_meetings_counts_no_one_registered(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    zip_code = a_zip()
    meeting = await a_meeting(pool, organisation_id)
    await registered(pool, meeting, await a_person(pool, zip_code), "confirmed", came=True)
    created = await engagement.post(
        "/api/v1/campaigns", json=draft(organisation_id, zip_codes=[zip_code]), headers=ADMIN
    )
    reach = await (
        await engagement.get(f"/api/v1/campaigns/{(await created.json())['id']}/reach", headers=ADMIN)
    ).json()
    assert (reach["registered"], reach["attended"]) == (0, 0)
