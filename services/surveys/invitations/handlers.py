"""Invitations for a launched campaign's audience, from ``campaign.audience_listed``.

Engagement alone knows who is in an audience (surveys holds no ZIP regions, memberships or
tags), so it lists the people at the launch and surveys invites them to each of the campaign's
linked surveys that takes invitations now (rules.py) and belongs to the campaign's organisation.
The handler only writes rows (the invitations and their events, in the consumer's transaction).
Each person is invited once per survey, however often a part arrives: a redelivered event is
refused by the inbox, and a part listed again (the same people in another event) finds their
invitations there already (the (survey, person) key).

A linked survey that does not take invitations when the audience arrives (a draft, a closed or
public-only one, or one not created yet) invites no one from this campaign: its organizer
invites on demand (api.py) once it is open."""

from datetime import UTC, datetime
from uuid import UUID

from services.surveys.invitations import issuing, rules, store
from shared.consumer import Subscription
from shared.contracts import CampaignAudienceListed, Envelope
from shared.db import DbConnection
from shared.erasure import erase_from_outbox


async def on_audience_listed(event: CampaignAudienceListed, conn: DbConnection, envelope: Envelope) -> None:
    now = datetime.now(UTC)
    for survey in await store.campaign_surveys(conn, event.survey_ids, event.organisation_id):
        if rules.refusal(survey["access"], survey["status"], survey["opens_at"], survey["closes_at"], now):
            continue
        await issuing.issue(
            conn,
            survey,
            event.members,
            campaign_id=event.campaign_id,
            causation_id=envelope.id,
            correlation_id=envelope.correlation_id,
        )


async def erase(conn: DbConnection, person_id: UUID) -> None:
    """The person's invitations and what hangs on them (store.erase), and their invitations'
    events not yet published: a link must not reach notifications after the person is gone."""
    await store.erase(conn, person_id)
    await erase_from_outbox(conn, f"person:{person_id}")


CAMPAIGNS = Subscription("surveys.campaigns", {CampaignAudienceListed: on_audience_listed})
