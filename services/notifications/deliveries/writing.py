"""Notices written as delivery rows, from engagement's events. Handlers decide nothing about
consent: they write who is meant (pending), and the sender decides each row when it sends.

Meetings and registrations are projected first (notice_meetings, notice_registrations), each
only from an event newer than the one applied: a meeting by its own change count, a
registration by its person's aggregate sequence. A change or cancellation of a meeting goes to
every registration holding a seat or waiting at that moment, as one statement."""

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid5

from services.notifications import application_outcomes, outcomes
from services.notifications.handlers import ERASED
from services.notifications.reminders import schedule
from shared.consumer import BatchHandler, Subscription
from shared.contracts import (
    ApplicationDecided,
    CampaignAudienceListed,
    CampaignLaunched,
    DecisionRecorded,
    Envelope,
    MeetingCancelled,
    MeetingScheduled,
    MeetingUpdated,
    PersonErased,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationPromoted,
    RegistrationWaitlisted,
    ResponseSubmitted,
)
from shared.contracts.meetings import MeetingFacts
from shared.db import DbConnection
from shared.ordering import ended

_CAMPAIGN_NOTICE = UUID("6f3a9c52-3c0e-4c55-9a51-0d6b1b2f7a10")  # namespace of campaign notices' ids

Registration = RegistrationConfirmed | RegistrationWaitlisted | RegistrationPromoted | RegistrationCancelled
KIND = {
    RegistrationConfirmed: "registration_confirmed",
    RegistrationWaitlisted: "registration_waitlisted",
    RegistrationPromoted: "registration_promoted",
    RegistrationCancelled: "registration_cancelled",
}
STATUS = {
    RegistrationConfirmed: "confirmed",
    RegistrationWaitlisted: "waitlisted",
    RegistrationPromoted: "confirmed",
    RegistrationCancelled: "cancelled",
}


def facts_json(meeting: MeetingFacts) -> Any:
    return json.loads(meeting.model_dump_json())


async def project_meeting(
    conn: DbConnection, meeting: MeetingFacts, *, join_url: str | None = None, cancelled: bool = False
) -> None:
    """The meeting's newest facts (those of an older change arriving late are not kept)."""
    await conn.execute(
        """INSERT INTO notice_meetings AS m
               (meeting_id, organisation_id, cop_id, sequence, facts, join_url, cancelled)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (meeting_id) DO UPDATE SET
               sequence = excluded.sequence, facts = excluded.facts,
               cancelled = m.cancelled OR excluded.cancelled,
               join_url = coalesce(excluded.join_url, m.join_url)
           WHERE m.sequence <= excluded.sequence OR (excluded.cancelled AND NOT m.cancelled)""",
        meeting.meeting_id,
        meeting.organisation_id,
        meeting.cop_id,
        meeting.sequence,
        facts_json(meeting),
        join_url,
        cancelled,
    )


async def on_meeting_scheduled(event: MeetingScheduled, conn: DbConnection, envelope: Envelope) -> None:
    await project_meeting(conn, event.meeting)


async def _to_registrants(
    conn: DbConnection, envelope: Envelope, kind: str, meeting: MeetingFacts, **extra: Any
) -> None:
    """One delivery per registration holding a seat or waiting, to where they registered."""
    await conn.execute(
        """INSERT INTO deliveries (notice, person_id, channel, subject, kind, purpose, transactional,
                                   address, language, params)
           SELECT $1, g.person_id,
                  CASE WHEN g.email IS NULL AND g.phone IS NOT NULL THEN 'sms' ELSE 'email' END,
                  'meeting:' || $2::uuid, $3, 'meetings', true, coalesce(g.email, g.phone), g.language,
                  $4::jsonb || jsonb_build_object('name', g.display_name, 'link_path', g.link_path,
                                                  'seated', g.status = 'confirmed')
           FROM notice_registrations g
           WHERE g.meeting_id = $2 AND g.status <> 'cancelled'
           ON CONFLICT DO NOTHING""",
        envelope.id,
        meeting.meeting_id,
        kind,
        {"meeting": facts_json(meeting), **extra},
    )


async def on_meeting_updated(event: MeetingUpdated, conn: DbConnection, envelope: Envelope) -> None:
    stale = await conn.fetchval(
        "SELECT sequence > $2 FROM notice_meetings WHERE meeting_id = $1",
        event.meeting.meeting_id,
        event.meeting.sequence,
    )
    await project_meeting(conn, event.meeting, join_url=event.join_url)
    if stale:
        return  # an older change arriving late: its notice would say what is no longer so
    await schedule.move(conn, event.meeting.meeting_id, event.meeting.starts_at)
    await _to_registrants(
        conn,
        envelope,
        "meeting_updated",
        event.meeting,
        join_url=event.join_url,
        recording_url=event.recording_url,
        changed=list(event.changed),
    )


async def on_meeting_cancelled(event: MeetingCancelled, conn: DbConnection, envelope: Envelope) -> None:
    await project_meeting(conn, event.meeting, cancelled=True)
    await schedule.cancel_meeting(conn, event.meeting.meeting_id)
    await _to_registrants(conn, envelope, "meeting_cancelled", event.meeting)


async def on_registration(event: Registration, conn: DbConnection, envelope: Envelope) -> None:
    if await ended(conn, ERASED, envelope):
        return
    join_url = getattr(event, "join_url", None)
    await project_meeting(conn, event.meeting, join_url=join_url)
    status = STATUS[type(event)]
    link_path = getattr(event, "link_path", None)
    newest = await conn.fetchval(
        """INSERT INTO notice_registrations AS g (registration_id, meeting_id, person_id, language,
                                                  display_name, email, phone, link_path, status, position)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (registration_id) DO UPDATE SET
               language = excluded.language, display_name = excluded.display_name, email = excluded.email,
               phone = excluded.phone, link_path = coalesce(excluded.link_path, g.link_path),
               status = excluded.status, position = excluded.position
           WHERE g.position < excluded.position
           RETURNING true""",
        event.registration_id,
        event.meeting.meeting_id,
        event.person_id,
        event.language,
        event.registrant.display_name,
        event.registrant.email,
        event.registrant.phone,
        link_path,
        status,
        envelope.sequence or 0,
    )
    if newest:
        if status == "confirmed":
            await schedule.schedule(
                conn, event.registration_id, event.meeting.meeting_id, event.meeting.starts_at
            )
        elif status == "cancelled":
            await schedule.cancel_registration(conn, event.registration_id)
    registrant = event.registrant
    params: dict[str, Any] = {
        "meeting": facts_json(event.meeting),
        "name": registrant.display_name,
        "link_path": link_path,
        "join_url": join_url,
    }
    if isinstance(event, RegistrationWaitlisted):
        params["position"] = event.position
    # Its own notice, even when a newer event of the registration came first: each says what happened.
    await conn.execute(
        """INSERT INTO deliveries (notice, person_id, channel, subject, kind, purpose, transactional,
                                   address, language, params)
           VALUES ($1, $2, $3, $4, $5, 'meetings', true, $6, $7, $8)
           ON CONFLICT DO NOTHING""",
        envelope.id,
        event.person_id,
        "sms" if registrant.email is None and registrant.phone is not None else "email",
        f"meeting:{event.meeting.meeting_id}",
        KIND[type(event)],
        registrant.email or registrant.phone,
        event.language,
        params,
    )


async def on_campaign_launched(event: CampaignLaunched, conn: DbConnection, envelope: Envelope) -> None:
    await conn.execute(
        """INSERT INTO notice_campaigns (campaign_id, organisation_id, title, launched_at, meeting_ids)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign_id) DO NOTHING""",
        event.campaign_id,
        event.organisation_id,
        event.title,
        event.launched_at,
        list(event.meeting_ids),
    )


def campaign_notice(campaign_id: UUID) -> UUID:
    """The one notice of a campaign's news: every part of its audience shares it, so a person
    listed twice, or a listing repeated, is one row."""
    return uuid5(_CAMPAIGN_NOTICE, str(campaign_id))


async def on_audience_listed(
    conn: DbConnection, events: Sequence[tuple[CampaignAudienceListed, Envelope]]
) -> None:
    """Campaign news to each listed person on each channel they have a contact point for (e-mail,
    SMS, or both: consent is per channel, so someone who agreed to news by SMS alone hears it),
    sent if they consent on that channel when it is sent. Someone with neither, or not known here
    yet, gets the e-mail row all the same, so that the report counts them (``no_contact_point``,
    ``no_consent``); a phone added after the listing does not bring a second row."""
    notices, people, languages, campaigns = [], [], [], []
    for event, _ in events:
        for member in event.members:
            notices.append(campaign_notice(event.campaign_id))
            people.append(member.person_id)
            languages.append(member.language)
            campaigns.append(str(event.campaign_id))
    await conn.execute(
        """INSERT INTO deliveries (notice, person_id, channel, subject, kind, purpose, transactional,
                                   language, params)
           SELECT e.n, e.p, ch.channel, 'campaign:' || e.c, 'campaign_news', 'campaign_news', false, e.l,
                  jsonb_build_object('campaign_id', e.c)
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS e (n, p, l, c)
           LEFT JOIN contact_points k ON k.person_id = e.p
           CROSS JOIN LATERAL (VALUES ('email', k.email IS NOT NULL OR k.phone IS NULL),
                                      ('sms', k.phone IS NOT NULL)) AS ch (channel, reached)
           WHERE ch.reached
           ON CONFLICT DO NOTHING""",
        notices,
        people,
        languages,
        campaigns,
    )


async def on_person_erased(event: PersonErased, conn: DbConnection, envelope: Envelope) -> None:
    """Their registrations (with the address and name), survey participation, reminders,
    deliveries and unsubscribes go."""
    await conn.execute(
        """DELETE FROM reminders WHERE registration_id IN
               (SELECT registration_id FROM notice_registrations WHERE person_id = $1)""",
        event.person_id,
    )
    for table in ("notice_registrations", "survey_participants", "deliveries", "unsubscribes"):
        await conn.execute(f"DELETE FROM {table} WHERE person_id = $1", event.person_id)  # noqa: S608


NOTICES = Subscription(
    "notifications.notices",
    {
        MeetingScheduled: on_meeting_scheduled,
        MeetingUpdated: on_meeting_updated,
        MeetingCancelled: on_meeting_cancelled,
        RegistrationConfirmed: on_registration,
        RegistrationWaitlisted: on_registration,
        RegistrationPromoted: on_registration,
        RegistrationCancelled: on_registration,
        CampaignLaunched: on_campaign_launched,
        CampaignAudienceListed: BatchHandler(on_audience_listed),
        DecisionRecorded: outcomes.on_decision_recorded,
        ApplicationDecided: application_outcomes.on_application_decided,
        ResponseSubmitted: outcomes.on_response_submitted,
        PersonErased: on_person_erased,
    },
)
