"""Who campaign news reached, told to engagement for the campaign's page: after a batch of sends
is recorded, one ``campaign.contacted`` per campaign with the count of its rows just recorded
sent, in the same transaction (a batch rolled back tells nothing; one committed tells once).
A person has one campaign_news row per campaign (its notice is the campaign's), so the counts
add up to the people contacted. A row whose lease ran out meanwhile was recorded failed by the
sweep, not sent here, and is not counted."""

from collections.abc import Sequence
from datetime import UTC, datetime

from shared.contracts import CampaignContacted
from shared.db import DbConnection
from shared.outbox import emit

PRODUCER = "notifications"


async def tell_contacted(conn: DbConnection, sent: Sequence[int]) -> None:
    """``sent``: the ids a sender has just recorded sent, in its transaction."""
    if not sent:
        return
    rows = await conn.fetch(
        """SELECT (params ->> 'campaign_id')::uuid AS campaign_id, count(*) AS people
           FROM deliveries
           WHERE id = ANY ($1::bigint[]) AND kind = 'campaign_news' AND state = 'sent'
           GROUP BY 1""",
        list(sent),
    )
    now = datetime.now(UTC)
    for row in rows:
        await emit(
            conn,
            CampaignContacted(
                campaign_id=row["campaign_id"], newly_contacted=row["people"], contacted_at=now
            ),
            producer=PRODUCER,
            aggregate=f"campaign:{row['campaign_id']}",
        )
