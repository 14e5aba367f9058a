"""A person's address refused for good (notifications' ``notification.failed``), kept as the
latest refusal per person and channel (migration 0016) so organizers see it beside the person on
``/console/people`` and the person on ``/me``, where they may correct it.

Only refusals that say the address is at fault count (``refuses_the_address``). A refusal older
than the one kept, or than the last change of that channel's address, changes nothing: the
newer stands, and a refusal of an address since replaced is not the new one's. A redelivered
event is the same refusal again and changes nothing. One about a person unknown here or erased
is dropped. A change of the address clears its refusal, in the change's transaction
(``address_changed``)."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.engagement.community.store import Db
from shared.consumer import Subscription
from shared.contracts import Channel, Envelope, NotificationFailed
from shared.db import DbConnection

# A permanent refusal as notifications writes it (deliveries/rules.py after_refusal): the SMTP
# reply code first, "550 5.1.1 no such mailbox", and an SMS provider's refusal of the message to
# that number (an HTTP 4xx) as "550 HTTP 400 ...". Not the address's fault, so not counted:
# "gave up after N attempts: ..." (the server kept saying "try later"), the interrupted reason
# (rules.INTERRUPTED: its sender died mid-send, perhaps after the server took it) and "could not
# compose: ..." (a template's fault), none of which starts with a code. Of the 5xx answers that
# carry an enhanced status code (RFC 3463), only subjects 1 (addressing: no such mailbox or
# domain) and 2 (the mailbox: full, disabled) speak of the address; 5.7.x (policy: spam, our
# sender not authorised), 5.6.x (the content) and the rest are about the message or the sender.
_PERMANENT = re.compile(r"5\d\d(?:[ -]5\.(\d{1,3})\.\d{1,3})?(?!\S)")
_ABOUT_THE_ADDRESS = (None, "1", "2")


def refuses_the_address(reason: str) -> bool:
    """Whether a failure's reason says the person's address was refused."""
    found = _PERMANENT.match(reason)
    return found is not None and found.group(1) in _ABOUT_THE_ADDRESS


@dataclass(frozen=True)
class Refusal:
    channel: Channel
    reason: str
    refused_at: datetime


async def on_notification_failed(event: NotificationFailed, conn: DbConnection, envelope: Envelope) -> None:
    if not refuses_the_address(event.reason):
        return
    # Strictly newer only: the same refusal again, an older one, or one from before the address
    # last changed leaves the row as it is. No row of people (unknown, or erased): nothing written.
    await conn.execute(
        """INSERT INTO address_refusals AS r (person_id, channel, delivery_id, reason, refused_at)
           SELECT p.id, $2, $3, $4, $5 FROM people p WHERE p.id = $1
           ON CONFLICT (person_id, channel) DO UPDATE SET
               delivery_id = excluded.delivery_id, reason = excluded.reason, refused_at = excluded.refused_at
           WHERE (r.refused_at IS NULL OR excluded.refused_at > r.refused_at)
             AND (r.address_changed_at IS NULL OR excluded.refused_at > r.address_changed_at)""",
        event.person_id,
        event.channel,
        event.delivery_id,
        event.reason,
        event.failed_at,
    )


async def address_changed(conn: DbConnection, person_id: UUID, channel: Channel) -> None:
    """The person's address on ``channel`` changed (or was removed): its refusal, if any, is
    cleared, and the change's time kept for refusals of the old address arriving later."""
    await conn.execute(
        """INSERT INTO address_refusals AS r (person_id, channel, address_changed_at)
           VALUES ($1, $2, clock_timestamp())
           ON CONFLICT (person_id, channel) DO UPDATE SET
               delivery_id = NULL, reason = NULL, refused_at = NULL,
               address_changed_at = excluded.address_changed_at""",
        person_id,
        channel,
    )


async def refusals_of(conn: Db, person_ids: list[UUID]) -> dict[UUID, list[Refusal]]:
    """The standing refusals of each of these people, e-mail before SMS."""
    rows = await conn.fetch(
        """SELECT person_id, channel, reason, refused_at FROM address_refusals
           WHERE person_id = ANY ($1::uuid[]) AND refused_at IS NOT NULL
           ORDER BY person_id, channel""",
        person_ids,
    )
    found: dict[UUID, list[Refusal]] = {}
    for row in rows:
        refusal = Refusal(row["channel"], row["reason"], row["refused_at"])
        found.setdefault(row["person_id"], []).append(refusal)
    return found


async def held_on(conn: Db, person_id: UUID) -> list[dict[str, Any]]:
    """The person's rows as kept, cleared ones too, for their download."""
    rows = await conn.fetch(
        """SELECT channel, delivery_id, reason, refused_at, address_changed_at FROM address_refusals
           WHERE person_id = $1 ORDER BY channel""",
        person_id,
    )
    return [dict(row) for row in rows]


REFUSALS = Subscription("engagement.refusals", {NotificationFailed: on_notification_failed})
