"""A resident's changed details reach notifications (person.details_changed): the name and
language their messages use, the number SMS goes to. Name and phone travel only for a person who
asked to be contacted; a late, older event about them cannot bring the old details back."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp.test_utils import TestClient

from services.notifications import handlers
from shared.contracts import ConsentRequested, DetailsChanged, Envelope
from tests.support.waiting import eventually
from tests.test_people_registration import platform_settings, running, smtp
from tests.test_resident_page import engagement, resident_settings, signed_in

__all__ = ["engagement", "platform_settings", "resident_settings", "running", "smtp"]  # fixtures


async def _contact_point(pools: dict[str, asyncpg.Pool], person_id: uuid.UUID) -> tuple[object, ...]:
    row = await pools["notifications"].fetchrow(
        "SELECT display_name, phone, language FROM contact_points WHERE person_id = $1", person_id
    )
    return tuple(row) if row is not None else ()


async def _details_events(pools: dict[str, asyncpg.Pool], person_id: uuid.UUID) -> list[dict[str, object]]:
    rows = await pools["engagement"].fetch(
        "SELECT payload FROM outbox WHERE payload->>'type' = 'person.details_changed' "
        "AND aggregate = $1 ORDER BY id",
        f"person:{person_id}",
    )
    return [row["payload"]["data"] for row in rows]


async def test_changed_details_reach_notifications(
    engagement: TestClient, pools: dict[str, asyncpg.Pool], running: None
) -> None:
    person_id, _, csrf = await signed_in(engagement, pools["engagement"], consent_to_contact=True)
    await eventually(lambda: _contact_point(pools, person_id), lambda row: row == ("Ana", None, "en"))
    details = {"display_name": "Ana María", "phone": "+1 (510) 555-0100", "language": "es"}
    saved = await engagement.post(
        "/me/details", data={"csrf": csrf, **details, "postal_code": "94612"}, allow_redirects=False
    )
    assert saved.status == 303
    await eventually(
        lambda: _contact_point(pools, person_id), lambda row: row == ("Ana María", "+15105550100", "es")
    )


async def test_only_the_language_travels_for_a_person_who_did_not_ask_to_be_contacted(
    engagement: TestClient, pools: dict[str, asyncpg.Pool], running: None
) -> None:
    person_id, _, csrf = await signed_in(engagement, pools["engagement"])
    details = {"display_name": "Ana María", "phone": "+1 (510) 555-0100", "language": "es"}
    saved = await engagement.post(
        "/me/details", data={"csrf": csrf, **details, "postal_code": "94612"}, allow_redirects=False
    )
    assert saved.status == 303
    [event] = await _details_events(pools, person_id)
    assert (event["language"], event["display_name"], event["phone"]) == ("es", None, None)
    await eventually(lambda: _contact_point(pools, person_id), lambda row: row == (None, None, "es"))


async def test_a_late_consent_request_does_not_bring_back_older_details(
    pools: dict[str, asyncpg.Pool],
) -> None:
    person_id = uuid.uuid4()
    aggregate = f"person:{person_id}"
    now = datetime.now(UTC)
    requested = ConsentRequested(
        person_id=person_id,
        display_name="Old name",
        email="old@example.org",
        language="en",
        confirmation_token="t" * 43,
        confirm_by=now + timedelta(days=1),
    )
    changed = DetailsChanged(
        person_id=person_id,
        language="es",
        display_name="New name",
        phone=None,
        contact_data=True,
        changed_at=now,
    )
    async with pools["notifications"].acquire() as conn, conn.transaction():
        # The change (sequence 3) is applied before the request it followed (sequence 2) comes back.
        await handlers.on_details_changed(
            changed, conn, Envelope.wrap(changed, producer="engagement", aggregate=aggregate, sequence=3)
        )
        await handlers.on_consent_requested(
            requested, conn, Envelope.wrap(requested, producer="engagement", aggregate=aggregate, sequence=2)
        )
        row = await conn.fetchrow(
            "SELECT display_name, email, language, consent_requested FROM contact_points "
            "WHERE person_id = $1",
            person_id,
        )
    # The address and the request still count; the name and language are the newer ones.
    assert tuple(row) == ("New name", "old@example.org", "es", True)
