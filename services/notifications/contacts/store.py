"""A person's own choices about notices, as notifications keeps them."""

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Literal

import asyncpg

from services.notifications.contacts.unsubscribe_links import LinkFor
from shared.contracts import PersonUnsubscribed
from shared.db import DbConnection
from shared.outbox import emit

PRODUCER = "notifications"


@dataclass(frozen=True)
class Choices:
    receiving: bool  # this link's purpose on its channel
    quiet_start: time | None
    quiet_end: time | None
    time_zone: str | None


async def choices(conn: DbConnection | asyncpg.Pool, link: LinkFor) -> Choices:
    row = await conn.fetchrow(
        """SELECT c.quiet_start, c.quiet_end, c.time_zone,
                  EXISTS (SELECT FROM unsubscribes u WHERE u.person_id = $1 AND u.channel = $2
                          AND u.purpose = $3) AS unsubscribed
           FROM (SELECT $1::uuid AS person_id) p LEFT JOIN contact_points c USING (person_id)""",
        link.person_id,
        link.channel,
        link.purpose,
    )
    assert row is not None
    return Choices(not row["unsubscribed"], row["quiet_start"], row["quiet_end"], row["time_zone"])


async def unsubscribe(conn: DbConnection, link: LinkFor, how: Literal["one_click", "preferences"]) -> bool:
    """Stop the link's purpose on its channel; True the first time (person.unsubscribed emitted,
    so engagement can change the consent it holds), False when it was stopped already."""
    done = await conn.fetchval(
        """INSERT INTO unsubscribes (person_id, channel, purpose) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING true""",
        link.person_id,
        link.channel,
        link.purpose,
    )
    if done:
        await emit(
            conn,
            PersonUnsubscribed(
                person_id=link.person_id,
                channel=link.channel,
                purpose=link.purpose,
                how=how,
                unsubscribed_at=datetime.now(UTC),
            ),
            producer=PRODUCER,
            aggregate=f"person:{link.person_id}",
        )
    return bool(done)


async def resubscribe(conn: DbConnection, link: LinkFor) -> None:
    """Undo an unsubscribe made here (what engagement holds as consent still decides)."""
    await conn.execute(
        "DELETE FROM unsubscribes WHERE person_id = $1 AND channel = $2 AND purpose = $3",
        link.person_id,
        link.channel,
        link.purpose,
    )


async def set_quiet_hours(
    conn: DbConnection, link: LinkFor, start: time | None, end: time | None, time_zone: str | None
) -> None:
    await conn.execute(
        "UPDATE contact_points SET quiet_start = $2, quiet_end = $3, time_zone = $4 WHERE person_id = $1",
        link.person_id,
        start,
        end,
        time_zone,
    )
