"""Survey invitations and their reminders as deliveries (kinds ``survey_invitation`` and
``survey_reminder``, purpose ``surveys``), in the invitee's language, a row per channel they have
a contact point for (e-mail, SMS or both; e-mail when they have none), as campaign news.

The subject is the campaign that invited them (``campaign:<id>``, so the campaign's notice
report has a line per survey's invitations) or the survey (``survey:<id>``) for invitations on
demand. An invitation's link holds its token: it is kept only while the delivery may still go
(``secret_path``, dropped from the row once it is finished), and not at all in a row whose
person cannot be written to on its channel when it is issued (no consent to that channel about
surveys, unsubscribed, no address on it): that row is written suppressed, with why, as a new
consent should not bring back last month's invitation by itself. Otherwise the sender decides
consent again when it sends. The same holds for the SMS row as for the e-mail one.

A reminder (``invitation.reminder_due``, from surveys, only for an invitation not used yet) says
the survey closes soon; it holds no link (the token is nowhere any more), it points at the
invitation. Notifications never learns which response was whose, only that surveys still counts
the invitation unused.

An event about a person erased is refused (its aggregate is the person's, ended); the rows of
one erased later go with the rest of their deliveries."""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid5

import asyncpg
from babel.dates import format_date

from services.notifications.deliveries import rules, store
from services.notifications.deliveries.sender import recipient_of
from services.notifications.handlers import ERASED
from shared.consumer import Subscription
from shared.contracts import Envelope, InvitationIssued, InvitationReminderDue
from shared.db import DbConnection
from shared.ordering import ended

PURPOSE = "surveys"
_REMINDER = UUID("0b7c3f0e-5a55-4b8e-9d0c-3e1f7a6b2c91")  # namespace of reminders' notices


def subject_of(campaign_id: UUID | None, survey_id: UUID) -> str:
    return f"campaign:{campaign_id}" if campaign_id is not None else f"survey:{survey_id}"


def closes_in(closes_at: datetime | None, language: str) -> str | None:
    return None if closes_at is None else format_date(closes_at, "long", locale=language)


def channels_of(contact: asyncpg.Record | None) -> tuple[str, ...]:
    """Each channel the person has a contact point for, as campaign news is written
    (deliveries/writing.py); e-mail for someone with neither, so the report counts them."""
    if contact is None:
        return ("email",)
    email = ("email",) if contact["email"] is not None or contact["phone"] is None else ()
    return email + (("sms",) if contact["phone"] is not None else ())


def _suppressed_now(contact: asyncpg.Record | None, channel: str) -> str | None:
    """Why the person cannot be written to about surveys on the channel now, or None."""
    row = {"transactional": False, "channel": channel, "purpose": PURPOSE, "address": None}
    decision = rules.decide(recipient_of(row, contact), datetime.now(UTC))  # type: ignore[arg-type]
    return decision.reason if isinstance(decision, rules.Suppress) else None


async def _write(
    conn: DbConnection, notice: UUID, person_id: UUID, subject: str, kind: str, language: str, params: Any
) -> None:
    """A row per channel of the person's, each holding the link's token only if it may go."""
    contact = (await store.contacts(conn, [person_id])).get(person_id)
    for channel in channels_of(contact):
        why = _suppressed_now(contact, channel)
        kept = params if why is None else {k: v for k, v in params.items() if k != "secret_path"}
        await conn.execute(
            """INSERT INTO deliveries (notice, person_id, channel, subject, kind, purpose, transactional,
                                       language, params, state, reason, finished_at)
               VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8,
                       CASE WHEN $9::text IS NULL THEN 'pending' ELSE 'suppressed' END, $9,
                       CASE WHEN $9::text IS NULL THEN NULL ELSE clock_timestamp() END)
               ON CONFLICT DO NOTHING""",
            notice,
            person_id,
            channel,
            subject,
            kind,
            PURPOSE,
            language,
            kept,
            why,
        )


async def on_invitation_issued(event: InvitationIssued, conn: DbConnection, envelope: Envelope) -> None:
    if await ended(conn, ERASED, envelope):
        return
    await _write(
        conn,
        event.invitation_id,
        event.person_id,
        subject_of(event.campaign_id, event.survey_id),
        "survey_invitation",
        event.language,
        {
            "invitation_id": str(event.invitation_id),
            "survey_id": str(event.survey_id),
            "title": event.title,
            "closes": closes_in(event.closes_at, event.language),
            # In the invitee's language from the first page on, whatever their browser asks for.
            "secret_path": f"{event.link_path}&{urlencode({'lang': event.language})}",
        },
    )


async def on_reminder_due(event: InvitationReminderDue, conn: DbConnection, envelope: Envelope) -> None:
    if await ended(conn, ERASED, envelope):
        return
    await _write(
        conn,
        uuid5(_REMINDER, str(event.invitation_id)),  # one reminder per invitation, however often due
        event.person_id,
        subject_of(event.campaign_id, event.survey_id),
        "survey_reminder",
        event.language,
        {
            "invitation_id": str(event.invitation_id),
            "survey_id": str(event.survey_id),
            "title": event.title,
            "closes": closes_in(event.closes_at, event.language),
        },
    )


INVITATIONS = Subscription(
    "notifications.invitations",
    {InvitationIssued: on_invitation_issued, InvitationReminderDue: on_reminder_due},
)
