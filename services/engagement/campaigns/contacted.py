"""How many people a campaign's news reached, from notifications' ``campaign.contacted`` (one per
batch of sends recorded): added up per campaign (migration 0015). Counted once per event: the
consumer writes the event's inbox row in the same transaction, so a redelivery adds nothing."""

from uuid import UUID

from services.engagement.community.store import Db
from shared.consumer import Subscription
from shared.contracts import CampaignContacted, Envelope
from shared.db import DbConnection


async def on_campaign_contacted(event: CampaignContacted, conn: DbConnection, envelope: Envelope) -> None:
    await conn.execute(
        """INSERT INTO campaign_contacts AS c (campaign_id, contacted) VALUES ($1, $2)
           ON CONFLICT (campaign_id) DO UPDATE SET
               contacted = c.contacted + excluded.contacted, updated_at = clock_timestamp()""",
        event.campaign_id,
        event.newly_contacted,
    )


async def contacted(conn: Db, campaign_id: UUID) -> int:
    count: int | None = await conn.fetchval(
        "SELECT contacted FROM campaign_contacts WHERE campaign_id = $1", campaign_id
    )
    return count or 0


CONTACTS = Subscription("engagement.contacts", {CampaignContacted: on_campaign_contacted})
