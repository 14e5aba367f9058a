"""Organisations' names reach surveys (organisation.named): engagement announces a created or
renamed organisation in the write's transaction, surveys keeps the newest name per organisation
and a late, older event changes nothing."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.surveys.app import SPEC as SURVEYS
from services.surveys.building.organisations import ORGANISATIONS, on_organisation_named
from shared.bus import Bus
from shared.consumer import Consumer
from shared.contracts import Envelope, OrganisationNamed
from shared.outbox import OutboxRelay
from shared.runtime import declare_topology
from shared.settings import Settings
from tests import test_accounts
from tests.support.waiting import eventually
from tests.test_organisations import as_, unique

engagement = test_accounts.engagement  # the fixture

Start = Callable[[Awaitable[None]], Any]


def envelope(event: OrganisationNamed, sequence: int) -> Envelope:
    return Envelope.wrap(
        event, producer="engagement", aggregate=f"organisation:{event.organisation_id}", sequence=sequence
    )


async def test_the_newest_name_wins_whatever_order_the_events_arrive_in(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool, organisation_id = pools["surveys"], uuid.uuid4()
    created = OrganisationNamed(organisation_id=organisation_id, name="Harbor Union")
    renamed = OrganisationNamed(organisation_id=organisation_id, name="Harbor Workers Union")
    async with pool.acquire() as conn, conn.transaction():
        await on_organisation_named(renamed, conn, envelope(renamed, 2))
        await on_organisation_named(created, conn, envelope(created, 1))  # late, older
        await on_organisation_named(renamed, conn, envelope(renamed, 2))  # again
    assert await pool.fetchval("SELECT name FROM organisations WHERE id = $1", organisation_id) == (
        "Harbor Workers Union"
    )


async def test_a_created_and_renamed_organisation_reaches_surveys(
    engagement: TestClient, pools: dict[str, asyncpg.Pool], bus: Bus, settings: Settings, background: Start
) -> None:
    assert ORGANISATIONS in SURVEYS.subscriptions
    await declare_topology(bus, [ORGANISATIONS])
    background(OutboxRelay(pools["engagement"], bus, "engagement", settings).run())
    background(Consumer(bus, pools["surveys"], ORGANISATIONS, settings).run())
    admin, name = as_("admin"), unique("Harbor Union")
    response = await engagement.post(
        "/api/v1/organisations", json={"name": name, "kind": "union"}, headers=admin
    )
    assert response.status == 201
    organisation_id = uuid.UUID((await response.json())["id"])

    async def name_in_surveys() -> str | None:
        found: str | None = await pools["surveys"].fetchval(
            "SELECT name FROM organisations WHERE id = $1", organisation_id
        )
        return found

    await eventually(name_in_surveys, lambda found: found == name)
    renamed = await engagement.put(
        f"/api/v1/organisations/{organisation_id}",
        json={"name": name + " II", "kind": "union"},
        headers=admin,
    )
    assert renamed.status == 200
    await eventually(name_in_surveys, lambda found: found == name + " II")
