"""Closing the loop: a decision's outcome told to everyone who took part in its consultations.

``decision.recorded`` becomes one delivery per participant (kind ``decision_outcome``, subject
``decision:<id>``, the event's id as the notice: a redelivered event writes nothing, a person in
several consultations is one row). Participants are who held a seat at one of its meetings
(notice_registrations) and who answered one of its surveys by invitation (survey_participants,
kept from ``response.submitted``'s respondent, never which response was theirs). An anonymous
survey's respondents are not known here, and cannot be told.

Consent is that of the purpose they took part under: ``meetings`` for a registrant, by the
channel they registered with, ``surveys`` by e-mail for a respondent (a person who did both is
told once, as a registrant). Not ``campaign_news``: the outcome is the follow-up of what they
took part in, which someone who declines an organisation's news still expects, and no reason to
write to who consented to news but took no part. Nor is it transactional: registering was
consent to hear about that meeting, not about what a council did later, so a registrant without
consent to meetings' notices is counted suppressed (no consent) in the report. The sender
decides consent, quiet hours and the address when it sends, as for any notice."""

from uuid import UUID

from services.notifications.handlers import ERASED
from shared.contracts import DecisionRecorded, Envelope, ResponseSubmitted
from shared.db import DbConnection

KIND = "decision_outcome"

# Each participant once: their consultations among the decision's, with how each one's input
# was used, the meeting's channel and language first (preference 0) over a survey's.
_WRITE = """
    WITH used (kind, target_id, how_used) AS (
        SELECT * FROM unnest($4::text[], $5::uuid[], $6::text[])),
    taken AS (
        SELECT g.person_id, 0 AS preference, 'meeting' AS kind, g.meeting_id AS target_id,
               CASE WHEN g.email IS NULL AND g.phone IS NOT NULL THEN 'sms' ELSE 'email' END AS channel,
               'meetings' AS purpose, g.language, g.display_name AS name
        FROM notice_registrations g WHERE g.meeting_id = ANY ($2::uuid[]) AND g.status = 'confirmed'
        UNION ALL
        SELECT s.person_id, 1, 'survey', s.survey_id, 'email', 'surveys', coalesce(c.language, 'en'),
               c.display_name
        FROM survey_participants s LEFT JOIN contact_points c USING (person_id)
        WHERE s.survey_id = ANY ($3::uuid[])),
    person AS (
        SELECT t.person_id,
               (array_agg(t.channel ORDER BY t.preference))[1] AS channel,
               (array_agg(t.purpose ORDER BY t.preference))[1] AS purpose,
               (array_agg(t.language ORDER BY t.preference))[1] AS language,
               (array_agg(t.name ORDER BY t.preference) FILTER (WHERE t.name IS NOT NULL))[1] AS name,
               coalesce(jsonb_agg(DISTINCT u.how_used) FILTER (WHERE u.how_used IS NOT NULL), '[]')
                   AS uses
        FROM taken t LEFT JOIN used u ON u.kind = t.kind AND u.target_id = t.target_id
        GROUP BY t.person_id)
    INSERT INTO deliveries (notice, person_id, channel, subject, kind, purpose, transactional,
                            language, params)
    SELECT $1, p.person_id, p.channel, 'decision:' || $7::uuid, $8, p.purpose, false, p.language,
           $9::jsonb || jsonb_build_object('uses', p.uses)
                     || CASE WHEN p.name IS NULL THEN '{}' ELSE jsonb_build_object('name', p.name) END
    FROM person p
    ON CONFLICT DO NOTHING"""


async def know_decision(conn: DbConnection, decision_id: UUID, organisation_id: UUID, title: str) -> None:
    """The decision's organisation: whose organizers see its report."""
    await conn.execute(
        """INSERT INTO notice_decisions (decision_id, organisation_id, title) VALUES ($1, $2, $3)
           ON CONFLICT (decision_id) DO NOTHING""",
        decision_id,
        organisation_id,
        title,
    )


async def on_decision_recorded(event: DecisionRecorded, conn: DbConnection, envelope: Envelope) -> None:
    await know_decision(conn, event.decision_id, event.organisation_id, event.title)
    uses = event.input_used
    await conn.execute(
        _WRITE,
        envelope.id,
        list(event.meeting_ids),
        list(event.survey_ids),
        [u.kind for u in uses],
        [u.target_id for u in uses],
        [u.how_used for u in uses],
        event.decision_id,
        KIND,
        {
            "decision_id": str(event.decision_id),
            "title": event.title,
            "outcome": event.outcome,
            "rationale": event.rationale,
            "page_path": event.page_path,
        },
    )


async def on_response_submitted(event: ResponseSubmitted, conn: DbConnection, envelope: Envelope) -> None:
    """Only who answered by invitation a survey that names them; an erased person is not kept."""
    if event.respondent_id is None:
        return
    if await is_erased(conn, event.respondent_id):
        return
    await conn.execute(
        "INSERT INTO survey_participants (survey_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        event.survey_id,
        event.respondent_id,
    )


async def is_erased(conn: DbConnection, person_id: UUID) -> bool:
    """Whether the person was erased: nothing is kept of them, nor written to them, again."""
    return bool(
        await conn.fetchval(
            "SELECT true FROM aggregate_positions WHERE consumer = $1 AND aggregate = $2",
            ERASED,
            f"person:{person_id}",
        )
    )
