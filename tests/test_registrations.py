"""Registering for meetings, against the real PostgreSQL: never over capacity when registrations
race, a freed seat promoted in the cancellation's transaction with both events, cancelling by
the personal link, a cancelled meeting refusing registrations, check-in, and erasure of a
registrant freeing their seat and leaving nothing of them."""

import asyncio
import typing
import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from pydantic import BaseModel

from deploy.stack import SERVICES
from services.engagement.meetings import registering
from services.engagement.meetings.rules import RegistrationFields, RegistrationStatus
from services.engagement.people.erasing import erase_person
from shared.contracts import EVENT_TYPES
from shared.db import create_pool
from shared.settings import Settings
from tests import test_accounts
from tests.test_campaigns import an_organisation
from tests.test_meetings import a_meeting, a_webinar, outbox
from tests.test_organisations import as_

engagement = test_accounts.engagement


def a_registrant(**changes: Any) -> RegistrationFields:
    return RegistrationFields.model_validate(
        {"display_name": "Resident", "email": f"{uuid.uuid4().hex}@example.org", **changes}
    )


async def a_full_meeting(client: TestClient, capacity: int) -> tuple[uuid.UUID, dict[str, str]]:
    organisation_id = await an_organisation(client)
    organizer = as_(f"organizer:{organisation_id}")
    body = a_webinar({"organisation_id": organisation_id}, capacity=capacity)
    return uuid.UUID(await a_meeting(client, body, organizer)), organizer


async def statuses(pool: asyncpg.Pool, meeting_id: uuid.UUID) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT status, count(*) AS n FROM meeting_registrations WHERE meeting_id = $1 GROUP BY status",
        meeting_id,
    )
    return {row["status"]: row["n"] for row in rows}


async def test_fifty_racing_registrations_for_ten_seats_seat_exactly_ten(
    engagement: TestClient, run_settings: Settings
) -> None:
    meeting_id, _ = await a_full_meeting(engagement, 10)
    # A pool of its own, wide enough that the fifty really run at once.
    pool = await create_pool(run_settings, "engagement", max_size=25)
    try:
        answers = await asyncio.gather(
            *(registering.register(pool, meeting_id, a_registrant(), None) for _ in range(50))
        )
        assert sorted(a.status.value for a in answers).count("confirmed") == 10
        assert await statuses(pool, meeting_id) == {"confirmed": 10, "waitlisted": 40}
        positions = sorted(a.waiting_position for a in answers if a.status is RegistrationStatus.WAITLISTED)
        assert positions == list(range(1, 41))
    finally:
        await pool.close()


async def test_cancelling_a_seat_by_the_link_promotes_the_first_waiting_in_the_same_transaction(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    meeting_id, _ = await a_full_meeting(engagement, 1)
    seated = await registering.register(pool, meeting_id, a_registrant(), None)
    first = await registering.register(pool, meeting_id, a_registrant(language="es"), None)
    second = await registering.register(pool, meeting_id, a_registrant(), None)
    assert (seated.status, first.status, second.status) == (
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.WAITLISTED,
        RegistrationStatus.WAITLISTED,
    )
    token = seated.link_path.rsplit("/", 1)[1]
    page = await engagement.get(seated.link_path)
    assert page.status == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    cancelled = await engagement.post(
        f"{seated.link_path}/cancel",
        data={"csrf": test_accounts.csrf_of(await page.text())},
        allow_redirects=False,
    )
    assert cancelled.status == 303
    assert (await registering.by_token(pool, token)).status is RegistrationStatus.CANCELLED  # type: ignore[union-attr]
    assert await statuses(pool, meeting_id) == {"cancelled": 1, "confirmed": 1, "waitlisted": 1}

    [promoted] = await pool.fetch(
        "SELECT person_id FROM meeting_registrations WHERE id = $1 AND status = 'confirmed'",
        first.registration_id,
    )
    events = await outbox(pool, f"person:{promoted['person_id']}")
    keys = [key for key, _ in events]
    assert keys == ["person.registered", "registration.waitlisted", "registration.promoted"]
    promotion = events[-1][1]["data"]
    assert (
        promotion["language"] == "es"
        and promotion["join_url"] == "https://meet.example.org/equity-indicators"
    )
    assert promotion["registrant"]["email"].endswith("@example.org") and promotion["purpose"] == "meetings"
    # The cancellation and the promotion were written by one transaction: one commit, one xmin.
    [seated_person] = await pool.fetch(
        "SELECT person_id FROM meeting_registrations WHERE id = $1", seated.registration_id
    )
    together = await pool.fetch(
        """SELECT DISTINCT xmin::text FROM outbox
           WHERE routing_key IN ('registration.cancelled', 'registration.promoted')
             AND aggregate = ANY($1::text[])""",
        [f"person:{seated_person['person_id']}", f"person:{promoted['person_id']}"],
    )
    assert len(together) == 1

    again = await registering.cancel(pool, token, None)
    assert again is registering.LinkState.ALREADY_CANCELLED
    assert await statuses(pool, meeting_id) == {"cancelled": 1, "confirmed": 1, "waitlisted": 1}
    unknown = await engagement.get("/meetings/r/" + "x" * 43)
    assert unknown.status == 404


async def test_a_cancelled_meeting_refuses_registrations(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    meeting_id, organizer = await a_full_meeting(engagement, 5)
    assert (await engagement.post(f"/api/v1/meetings/{meeting_id}/cancel", headers=organizer)).status == 200
    body = {"display_name": "Resident", "email": "late@example.org"}
    refused = await engagement.post(f"/api/v1/meetings/{meeting_id}/registrations", json=body)
    assert refused.status == 409 and "cancelled" in (await refused.json())["detail"]
    page = await engagement.get(f"/meetings/{meeting_id}")
    assert page.status == 200 and "<form" not in (await page.text()).split("</nav>", 1)[1]
    assert await statuses(pools["engagement"], meeting_id) == {}


async def test_registering_through_the_api_and_the_host_sees_the_access_needs(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    meeting_id, organizer = await a_full_meeting(engagement, 2)
    url = f"/api/v1/meetings/{meeting_id}/registrations"
    needs = [["asl", "captions"], ["captions"], ["childcare"]]
    answers = []
    for n, asked in enumerate(needs):
        body = {
            "display_name": f"Resident {n}",
            "phone": f"+1 510 555 01{n:02d}",
            "needs": asked,
            "interpretation": "Vietnamese",
        }
        response = await engagement.post(url, json=body)
        assert response.status == 201, await response.text()
        answers.append(await response.json())
    assert [a["status"] for a in answers] == ["confirmed", "confirmed", "waitlisted"]
    bad = await engagement.post(url, json={"display_name": "No address"})
    assert bad.status == 422 and [e["field"] for e in (await bad.json())["errors"]] == ["email"]
    listed = await (await engagement.get(url, headers=organizer)).json()
    assert listed["confirmed"] == 2 and listed["waitlisted"] == 1
    assert listed["needs"]["seated"] == {"asl": 1, "captions": 2, "childcare": 0, "step_free_access": 0}
    assert listed["needs"]["waiting"]["childcare"] == 1
    assert listed["needs"]["interpretation"] == {"vietnamese": 2}
    assert [item["phone"] for item in listed["items"]] == ["+15105550100", "+15105550101", "+15105550102"]

    ids = [a["registration_id"] for a in answers]
    checked = await engagement.post(
        f"/api/v1/meetings/{meeting_id}/attendance", json={"attended": ids, "shown": ids}, headers=organizer
    )
    assert (await checked.json())["newly_attended"] == 2  # the waitlisted one holds no seat
    attended = await pools["engagement"].fetch(
        """SELECT payload FROM outbox
           WHERE routing_key = 'meeting.attended' AND payload -> 'data' ->> 'meeting_id' = $1""",
        str(meeting_id),
    )
    assert sorted(row["payload"]["data"]["registration_id"] for row in attended) == sorted(ids[:2])


async def test_erasing_a_registrant_frees_their_seat_and_leaves_nothing_of_them(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    meeting_id, _ = await a_full_meeting(engagement, 1)
    email = f"{uuid.uuid4().hex}@example.org"
    seated = await registering.register(
        pool, meeting_id, a_registrant(email=email, display_name="Erin Erased"), None
    )
    waiting = await registering.register(pool, meeting_id, a_registrant(), None)
    again = await registering.register(pool, meeting_id, a_registrant(email=email.upper()), None)
    person_id = await pool.fetchval(
        "SELECT person_id FROM meeting_registrations WHERE id = $1", seated.registration_id
    )
    assert (
        await pool.fetchval(
            "SELECT count(DISTINCT person_id) FROM meeting_registrations WHERE id = ANY($1::uuid[])",
            [seated.registration_id, again.registration_id],
        )
        == 1
    )

    async with pool.acquire() as conn:
        await erase_person(conn, person_id)
    assert (
        await pool.fetchval("SELECT count(*) FROM meeting_registrations WHERE person_id = $1", person_id) == 0
    )
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM meeting_registrations WHERE email = $1 OR display_name = 'Erin Erased'",
            email,
        )
        == 0
    )
    assert [key for key, _ in await outbox(pool, f"person:{person_id}")] == ["person.erased"]
    assert (
        await pool.fetchval("SELECT count(*) FROM outbox WHERE payload::text LIKE '%' || $1 || '%'", email)
        == 0
    )
    assert await statuses(pool, meeting_id) == {"confirmed": 1}
    status = await pool.fetchval(
        "SELECT status FROM meeting_registrations WHERE id = $1", waiting.registration_id
    )
    assert status == "confirmed"


def test_contact_data_is_only_in_registration_events_and_no_service_but_notifications_binds_them() -> None:
    def names(model: type[BaseModel]) -> set[str]:
        found = set(model.model_fields)
        for field in model.model_fields.values():
            for part in (field.annotation, *typing.get_args(field.annotation)):
                if isinstance(part, type) and issubclass(part, BaseModel):
                    found |= names(part)
        return found

    meetings = {key: c for key, c in EVENT_TYPES.items() if key[0].startswith(("meeting.", "registration."))}
    carrying = {key[0] for key, contract in meetings.items() if {"email", "phone"} & names(contract)}
    assert carrying == {
        "registration.confirmed",
        "registration.waitlisted",
        "registration.promoted",
        "registration.cancelled",
    }
    for spec in SERVICES:
        bound = {key for sub in spec.subscriptions for key in sub.routing_keys}
        assert spec.name == "notifications" or not bound & carrying, spec.name
