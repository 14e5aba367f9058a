"""An unsubscribe made in notifications (a message's one-click link) reaches engagement over
RabbitMQ: the person's consent there loses that purpose, recorded as their own change made by the
unsubscribe link and announced as person.consent_changed; /me shows the box unticked; a
redelivered event changes nothing more; an unsubscribe older than a later choice on /me does not
undo it; one about a person unknown to engagement is dropped."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp.test_utils import TestClient

from services.engagement.people.unsubscribes import UNSUBSCRIBES, on_person_unsubscribed
from shared.bus import Bus
from shared.consumer import Consumer
from shared.contracts import Envelope, PersonUnsubscribed
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.waiting import eventually
from tests.test_people_registration import Start, events_of, platform_settings, smtp
from tests.test_resident_page import engagement, resident_settings, signed_in

__all__ = ["engagement", "platform_settings", "resident_settings", "smtp"]


def ticked(page: str) -> set[str]:
    return set(re.findall(r'name="consent" value="([a-z_:]+)" checked', page))


def unsubscribed(person_id: uuid.UUID, at: datetime) -> Envelope:
    event = PersonUnsubscribed(
        person_id=person_id, channel="email", purpose="campaign_news", how="one_click", unsubscribed_at=at
    )
    return Envelope.wrap(event, producer="notifications", aggregate=f"person:{person_id}")


async def test_an_unsubscribe_withdraws_the_consent_in_engagement_and_shows_on_me(
    engagement: TestClient,
    pools: dict[str, asyncpg.Pool],
    bus: Bus,
    background: Start,
    resident_settings: Settings,
) -> None:
    pool = pools["engagement"]
    person_id, _, csrf = await signed_in(engagement, pool)
    form = [("csrf", csrf), ("consent", "email:surveys"), ("consent", "email:campaign_news")]
    assert (await engagement.post("/me/consents", data=form, allow_redirects=False)).status == 303
    assert ticked(await (await engagement.get("/me")).text()) == {"email:surveys", "email:campaign_news"}

    await declare_topology(bus, [UNSUBSCRIBES])
    background(Consumer(bus, pool, UNSUBSCRIBES, resident_settings).run())
    envelope = unsubscribed(person_id, datetime.now(UTC))
    for _ in range(2):  # delivered twice
        await bus.publish(envelope.type, envelope.model_dump_json().encode(), message_id=str(envelope.id))

    async def changes() -> list[asyncpg.Record]:
        return await pool.fetch(
            """SELECT purpose, granted, method, changed_by FROM consent_changes
               WHERE person_id = $1 AND method = 'unsubscribe_link'""",
            person_id,
        )

    [change] = await eventually(changes, lambda rows: len(rows) == 1)
    assert (change["purpose"], change["granted"], change["changed_by"]) == ("campaign_news", False, "person")
    assert ticked(await (await engagement.get("/me")).text()) == {"email:surveys"}
    announced = [e for e in await events_of(pool, person_id) if e["type"] == "person.consent_changed"]
    assert [c["purpose"] for c in announced[-1]["data"]["consents"]] == ["surveys"]

    # They tick campaign news again on /me; an unsubscribe from before that arrives late.
    assert (await engagement.post("/me/consents", data=form, allow_redirects=False)).status == 303
    late = unsubscribed(person_id, datetime.now(UTC) - timedelta(minutes=5))
    async with pool.acquire() as conn, conn.transaction():
        await on_person_unsubscribed(PersonUnsubscribed.model_validate(late.data), conn, late)
    assert ticked(await (await engagement.get("/me")).text()) == {"email:surveys", "email:campaign_news"}
    assert len(await changes()) == 1

    stranger = unsubscribed(uuid.uuid4(), datetime.now(UTC))
    async with pool.acquire() as conn, conn.transaction():
        await on_person_unsubscribed(PersonUnsubscribed.model_validate(stranger.data), conn, stranger)
