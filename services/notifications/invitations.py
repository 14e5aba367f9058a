"""Invitations to answer a survey (``invitation.issued``), mailed with the link surveys minted.

Only a person who consents to e-mail about surveys, and has an address, is written to; anyone
else's invitation is recorded as not sent, with why, and its link is not kept (0005): a mail
that may never go out should not hold a way into a survey in someone's name. Consent is asked
again when sending (mail.py's claim), so a withdrawal in between stops it too.

A redelivered event writes nothing (the inbox); an invitation issued after the person's erasure
is refused (its aggregate is the person's, ended), and one issued before is deleted with the
rest of their mail."""

from typing import Literal

from services.notifications.handlers import ERASED
from shared.consumer import Subscription
from shared.contracts import Envelope, InvitationIssued
from shared.db import DbConnection
from shared.ordering import ended

PURPOSE = "surveys"
NotSentBecause = Literal["no_consent", "no_address"]


def not_sent_because(consents: bool, email: str | None) -> NotSentBecause | None:
    """Why an invitation cannot be mailed, or None when it can: not consenting comes first (a
    person may have an address and no wish to be asked)."""
    if not consents:
        return "no_consent"
    if not email:
        return "no_address"
    return None


async def on_invitation_issued(event: InvitationIssued, conn: DbConnection, envelope: Envelope) -> None:
    if await ended(conn, ERASED, envelope):
        return
    contact = await conn.fetchrow(
        """SELECT email, consent_confirmed_at IS NOT NULL AND $2 = ANY (consents) AS consents
           FROM contact_points WHERE person_id = $1""",
        event.person_id,
        f"email:{PURPOSE}",
    )
    why = "no_consent" if contact is None else not_sent_because(contact["consents"], contact["email"])
    params: dict[str, str | None] = {"invitation_id": str(event.invitation_id)}
    if why is None:
        params |= {
            "link_path": event.link_path,
            "title": event.title,
            "language": event.language,
            "closes_at": None if event.closes_at is None else event.closes_at.isoformat(),
        }
    await conn.execute(
        """INSERT INTO outgoing_mail (person_id, kind, purpose, params, status, not_sent_because)
           VALUES ($1, 'survey_invitation', $2, $3,
                   CASE WHEN $4::text IS NULL THEN 'pending' ELSE 'not_sent' END, $4)""",
        event.person_id,
        PURPOSE,
        params,
        why,
    )


INVITATIONS = Subscription("notifications.invitations", {InvitationIssued: on_invitation_issued})
