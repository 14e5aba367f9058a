"""Meetings in engagement, against the real PostgreSQL: a host schedules, changes and cancels a
meeting (each with its event in the outbox in the change's transaction, the sequence rising on
every change), nobody else may write it, local times in a named zone stored as UTC instants,
and the public data never shows the join link."""

import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.engagement import demo
from services.engagement.meetings import store
from shared.auth import ACCOUNT_HEADER
from shared.settings import Settings
from tests import test_accounts
from tests.test_campaigns import an_organisation
from tests.test_organisations import ADMIN, as_, audit_targets, unique

engagement = test_accounts.engagement

JOIN = "https://meet.example.org/equity-indicators"


def a_webinar(host: dict[str, str], **changes: Any) -> dict[str, Any]:
    return {
        **host,
        "kind": "webinar",
        "title": {"en": unique("Equity indicators"), "es": "Indicadores de equidad"},
        "description": {"en": "How we measure who benefits."},
        "time_zone": "America/Los_Angeles",
        "starts": "2031-01-15T18:00",
        "ends": "2031-01-15T19:30",
        "join_url": JOIN,
        **changes,
    }


async def a_cop(client: TestClient) -> str:
    created = await client.post("/api/v1/cops", json={"topic": unique("Equity")}, headers=ADMIN)
    assert created.status == 201
    return str((await created.json())["id"])


async def a_meeting(client: TestClient, body: dict[str, Any], headers: dict[str, str]) -> str:
    created = await client.post("/api/v1/meetings", json=body, headers=headers)
    assert created.status == 201, await created.text()
    return str((await created.json())["id"])


async def outbox(pool: asyncpg.Pool, aggregate: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await pool.fetch(
        "SELECT routing_key, payload FROM outbox WHERE aggregate = $1 ORDER BY id", aggregate
    )
    return [(row["routing_key"], row["payload"]) for row in rows]


async def test_a_host_schedules_changes_and_cancels_with_each_event_and_a_rising_sequence(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    body = a_webinar({"organisation_id": organisation_id})
    meeting_id = await a_meeting(engagement, body, organizer)
    aggregate = f"meeting:{meeting_id}"
    [(key, scheduled)] = await outbox(pool, aggregate)
    assert key == "meeting.scheduled"
    facts = scheduled["data"]["meeting"]
    assert facts["sequence"] == 0 and facts["time_zone"] == "America/Los_Angeles"
    assert facts["title"] == body["title"] and "join_url" not in scheduled["data"]

    moved = {**body, "starts": "2031-01-22T18:00", "ends": "2031-01-22T19:30"}
    changed = await engagement.put(f"/api/v1/meetings/{meeting_id}", json=moved, headers=organizer)
    assert changed.status == 200, await changed.text()
    assert (await changed.json())["sequence"] == 1
    again = await engagement.put(f"/api/v1/meetings/{meeting_id}", json=moved, headers=organizer)
    assert (await again.json())["sequence"] == 1  # nothing changed, nothing announced
    recorded = {**moved, "recording_url": "https://video.example.org/equity"}
    assert (
        await engagement.put(f"/api/v1/meetings/{meeting_id}", json=recorded, headers=organizer)
    ).status == 200
    cancelled = await engagement.post(f"/api/v1/meetings/{meeting_id}/cancel", headers=organizer)
    assert (await cancelled.json())["status"] == "cancelled"

    events = await outbox(pool, aggregate)
    assert [key for key, _ in events] == [
        "meeting.scheduled",
        "meeting.updated",
        "meeting.updated",
        "meeting.cancelled",
    ]
    assert [envelope["data"]["meeting"]["sequence"] for _, envelope in events] == [0, 1, 2, 3]
    assert events[1][1]["data"]["changed"] == ["starts", "ends"]
    assert events[1][1]["data"]["join_url"] == JOIN
    assert events[2][1]["data"]["changed"] == ["recording_url"]

    refused = await engagement.put(f"/api/v1/meetings/{meeting_id}", json=body, headers=organizer)
    assert refused.status == 409
    assert (await engagement.post(f"/api/v1/meetings/{meeting_id}/cancel", headers=organizer)).status == 409
    assert [action for action, _ in await audit_targets(pool, organizer[ACCOUNT_HEADER])] == [
        "meeting.scheduled",
        "meeting.changed",
        "meeting.changed",
        "meeting.cancelled",
    ]


async def test_another_organisations_organizer_is_refused_every_write_and_read(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = await an_organisation(engagement)
    body = a_webinar({"organisation_id": organisation_id})
    meeting_id = await a_meeting(engagement, body, as_(f"organizer:{organisation_id}"))
    cop_id = await a_cop(engagement)
    for other in (as_(f"organizer:{uuid.uuid4()}"), as_(f"cop_lead:{cop_id}"), as_("")):
        assert (await engagement.post("/api/v1/meetings", json=body, headers=other)).status == 403
        calls = [
            ("GET", "", None),
            ("PUT", "", body),
            ("POST", "/cancel", None),
            ("GET", "/registrations", None),
            ("POST", "/attendance", {"attended": [], "shown": []}),
        ]
        for method, path, json in calls:
            response = await engagement.request(
                method, f"/api/v1/meetings/{meeting_id}{path}", json=json, headers=other
            )
            assert response.status == 403, (method, path, other)
        listed = await (await engagement.get("/api/v1/meetings", headers=other)).json()
        assert meeting_id not in [item["id"] for item in listed["items"]]
    before = await outbox(pools["engagement"], f"meeting:{meeting_id}")
    assert [key for key, _ in before] == ["meeting.scheduled"]

    # A CoP's lead hosts their CoP's meetings, and may not give one to an organisation not theirs.
    lead = as_(f"cop_lead:{cop_id}")
    cop_meeting = await a_meeting(engagement, a_webinar({"cop_id": cop_id}), lead)
    moved = a_webinar({"organisation_id": organisation_id})
    assert (await engagement.put(f"/api/v1/meetings/{cop_meeting}", json=moved, headers=lead)).status == 403
    assert (
        await engagement.post(
            "/api/v1/meetings", json=a_webinar({"cop_id": cop_id}), headers=as_(f"cop_lead:{uuid.uuid4()}")
        )
    ).status == 403


async def test_local_times_in_a_named_zone_are_kept_as_utc_instants_across_daylight_saving(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    winter = await a_meeting(engagement, a_webinar({"organisation_id": organisation_id}), organizer)
    row = await store.meeting(pools["engagement"], uuid.UUID(winter))
    assert row is not None
    assert row["starts_at"].isoformat() == "2031-01-16T02:00:00+00:00"  # 18:00 PST is 02:00 UTC next day
    summer_body = a_webinar(
        {"organisation_id": organisation_id}, starts="2031-07-15T18:00", ends="2031-07-15T19:00"
    )
    summer = await (await engagement.post("/api/v1/meetings", json=summer_body, headers=organizer)).json()
    assert summer["starts_at"] == "2031-07-16T01:00:00Z" and summer["starts"] == "2031-07-15T18:00"

    skipped = a_webinar(
        {"organisation_id": organisation_id}, starts="2031-03-09T02:30", ends="2031-03-09T04:00"
    )
    refused = await engagement.post("/api/v1/meetings", json=skipped, headers=organizer)
    assert refused.status == 422
    [error] = (await refused.json())["errors"]
    assert error["field"] == "starts" and "does not exist in America/Los_Angeles" in error["message"]
    for bad in ({"time_zone": "Mars/Olympus_Mons"}, {"ends": "2031-01-15T17:00"}, {"join_url": None}):
        response = await engagement.post("/api/v1/meetings", json={**summer_body, **bad}, headers=organizer)
        assert response.status == 422, bad
        assert [e["field"] for e in (await response.json())["errors"]] == [next(iter(bad))]


async def test_the_public_data_never_shows_the_join_link(engagement: TestClient) -> None:
    organisation_id = await an_organisation(engagement)
    meeting_id = await a_meeting(
        engagement,
        a_webinar({"organisation_id": organisation_id}, capacity=3),
        as_(f"organizer:{organisation_id}"),
    )
    public = await engagement.get(f"/api/v1/meetings/{meeting_id}/public")  # nobody signed in
    assert public.status == 200
    text = await public.text()
    assert JOIN not in text and "join_url" not in text
    body = await public.json()
    assert body["online"] and body["seats_left"] == 3 and body["registration_open"]
    page = await engagement.get(f"/meetings/{meeting_id}")
    assert page.status == 200 and JOIN not in await page.text()
    spanish = await engagement.get(f"/meetings/{meeting_id}?lang=es")
    assert "Indicadores de equidad" in await spanish.text()


async def test_the_demo_reschedules_the_equity_webinar_once_and_cancels_the_hearing(
    run_settings: Settings, pools: dict[str, asyncpg.Pool]
) -> None:
    # As make run loads it: a plain connection of the serving role (no jsonb codec of the pool's).
    conn = await asyncpg.connect(run_settings.database_url, server_settings={"search_path": "engagement"})
    try:
        await demo.load(conn)
        await demo.load_regions(conn)
        await demo.load_community(conn)
        await demo.load_meetings(conn)
        assert await demo.load_meetings(conn) == 0
    finally:
        await conn.close()
    pool = pools["engagement"]
    webinar = await outbox(pool, f"meeting:{demo.DEMO_WEBINAR_ID}")
    assert [key for key, _ in webinar] == ["meeting.scheduled", "meeting.updated"]
    assert webinar[1][1]["data"]["changed"] == ["starts", "ends"]
    hearing = await outbox(pool, f"meeting:{demo.DEMO_HEARING_ID}")
    assert [key for key, _ in hearing] == ["meeting.scheduled", "meeting.cancelled"]
    rows = await pool.fetch(
        "SELECT status FROM meeting_registrations WHERE meeting_id = $1 ORDER BY position",
        demo.DEMO_WEBINAR_ID,
    )
    assert [row["status"] for row in rows] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
