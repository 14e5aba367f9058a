"""A campaign's "contacted": notifications tells campaign.contacted for each batch of campaign news
recorded sent, in the transaction that records it (who is suppressed is not counted, a second
drain tells nothing more), engagement's consumer adds them up once per event over RabbitMQ (a
redelivered message adds nothing), and the campaign's reach and its console page show it."""

import uuid
from datetime import UTC, datetime

import asyncpg
from aiohttp.test_utils import TestClient

from services.engagement.campaigns.contacted import CONTACTS
from shared.bus import Bus
from shared.consumer import Consumer
from shared.contracts import (
    AudienceMember,
    CampaignAudienceListed,
    CampaignContacted,
    CampaignLaunched,
    Envelope,
)
from shared.contracts.campaigns import Audience
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.notices import apply, drain
from tests.support.waiting import eventually
from tests.test_campaigns import an_organisation, draft
from tests.test_decision_outcome_notices import a_person
from tests.test_notices import notice_settings
from tests.test_organisations import ADMIN
from tests.test_people_registration import Mailbox, Start, engagement, platform_settings, smtp

__all__ = ["engagement", "notice_settings", "platform_settings", "smtp"]


async def told(pool: asyncpg.Pool, campaign_id: str) -> list[Envelope]:
    rows = await pool.fetch(
        """SELECT payload FROM outbox WHERE routing_key = 'campaign.contacted'
           AND payload -> 'data' ->> 'campaign_id' = $1 ORDER BY id""",
        campaign_id,
    )
    return [Envelope.model_validate(r["payload"]) for r in rows]


async def test_campaign_news_sent_is_counted_once_as_contacted_on_the_campaigns_reach(
    engagement: TestClient,
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    bus: Bus,
    background: Start,
) -> None:
    notifications = pools["notifications"]
    organisation_id = await an_organisation(engagement)
    created = await engagement.post("/api/v1/campaigns", json=draft(organisation_id), headers=ADMIN)
    campaign_id = (await created.json())["id"]
    consenting = [await a_person(notifications, ("email:campaign_news",)) for _ in range(3)]
    declined, _ = await a_person(notifications, ("email:surveys",))
    members = tuple(
        AudienceMember(person_id=p, language="en") for p in [*(p for p, _ in consenting), declined]
    )
    await apply(
        notifications,
        CampaignLaunched(
            campaign_id=uuid.UUID(campaign_id),
            organisation_id=uuid.UUID(organisation_id),
            title="Clean air for Northside",
            audience=Audience(),
            launched_at=datetime.now(UTC),
        ),
    )
    listed = CampaignAudienceListed(
        campaign_id=uuid.UUID(campaign_id),
        organisation_id=uuid.UUID(organisation_id),
        survey_ids=(uuid.uuid4(),),
        part=1,
        parts=1,
        members=members,
    )
    await apply(notifications, listed)
    await drain(notifications, notice_settings.model_copy(update={"notice_batch": 2}))
    await drain(notifications, notice_settings)  # nothing left: tells nothing more

    events = await told(notifications, campaign_id)
    assert len(events) == 2  # a batch of two, then the one left
    assert sum(e.data["newly_contacted"] for e in events) == 3
    assert all(e.aggregate == f"campaign:{campaign_id}" for e in events)

    await declare_topology(bus, [CONTACTS])
    background(Consumer(bus, pools["engagement"], CONTACTS, notice_settings).run())

    async def publish(envelope: Envelope) -> None:
        await bus.publish(envelope.type, envelope.model_dump_json().encode(), message_id=str(envelope.id))

    async def contacted(campaign: str) -> int:
        answer = await engagement.get(f"/api/v1/campaigns/{campaign}/reach", headers=ADMIN)
        assert answer.status == 200
        return int((await answer.json())["contacted"])

    for envelope in events:
        await publish(envelope)
    assert await eventually(lambda: contacted(campaign_id), lambda n: n == 3) == 3
    # The first delivered again, then another campaign's count: once that one is counted, the
    # repeat before it was handled, and added nothing.
    other = await engagement.post("/api/v1/campaigns", json=draft(organisation_id), headers=ADMIN)
    other_id = (await other.json())["id"]
    sentinel = Envelope.wrap(
        CampaignContacted(campaign_id=uuid.UUID(other_id), newly_contacted=5, contacted_at=datetime.now(UTC)),
        producer="notifications",
    )
    await publish(events[0])
    await publish(sentinel)
    assert await eventually(lambda: contacted(other_id), lambda n: n == 5) == 5
    assert await contacted(campaign_id) == 3
    page = await engagement.get(f"/console/campaigns/{campaign_id}", headers=ADMIN)
    assert page.status == 200 and "3 people reached by its news" in await page.text()
