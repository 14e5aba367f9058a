"""Who campaign news reached, told to engagement for the campaign's page: after a batch of sends
is recorded, one ``campaign.contacted`` per campaign with the count of its rows just recorded
sent, in the same transaction (a batch rolled back tells nothing; one committed tells once).
A person has a campaign_news row per channel (e-mail, SMS) under the campaign's one notice, and
is counted with the first of them sent: the others find it sent and count nothing. The e-mail
and the SMS senders may record a person's two rows at the same moment, so each recording takes a
transaction-level advisory lock per (notice, person) first, in one order: the second waits for
the first's commit and then sees its row sent. A row whose lease ran out meanwhile was recorded
failed by the sweep, not sent here, and is not counted."""

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
    await conn.execute(
        """SELECT pg_advisory_xact_lock(key) FROM (
               SELECT DISTINCT hashtextextended(notice::text || person_id::text, 0) AS key
               FROM deliveries
               WHERE id = ANY ($1::bigint[]) AND kind = 'campaign_news' AND state = 'sent'
               ORDER BY key) AS keys""",
        list(sent),
    )
    # A statement of its own, so that its snapshot is taken once the locks are held.
    rows = await conn.fetch(
        """SELECT (d.params ->> 'campaign_id')::uuid AS campaign_id, count(DISTINCT d.person_id) AS people
           FROM deliveries d
           WHERE d.id = ANY ($1::bigint[]) AND d.kind = 'campaign_news' AND d.state = 'sent'
             AND NOT EXISTS (
                 SELECT FROM deliveries o
                 WHERE o.notice = d.notice AND o.person_id = d.person_id AND o.state = 'sent'
                   AND o.id <> ALL ($1::bigint[]))
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
