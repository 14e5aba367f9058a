"""A competition's outcome told to each applicant: ``application.decided`` (one event per
application) becomes one delivery of kind ``application_outcome`` to the application's contact
person, subject ``decision:<id>`` so the decision's notice report has its line, the event's id as
the notice (a redelivered event writes nothing).

Consent: asked for. The contact applied on their community's behalf and is waiting for this
answer, as a registrant waits for their registration's confirmation; it is not news of an
organisation (``campaign_news``) nor the follow-up of a meeting or survey they took part in
(``meetings``, ``surveys``), so someone who declined those is still told. It is written
transactional: to the address and in the language of their contact point when the event arrives,
by e-mail, or by SMS for a contact with a phone alone, never held for quiet hours. Its purpose,
``applications``, names what was asked for; no consent is looked up for it.

An application without a contact has nobody to tell: its row stands for the application (its id
in place of a person's), written suppressed with the reason ``no_contact_person``, so the report
counts every applicant and says why one was not told."""

from services.notifications.outcomes import is_erased, know_decision
from shared.contracts import ApplicationDecided, Envelope
from shared.db import DbConnection

KIND = "application_outcome"
NO_CONTACT = "no_contact_person"

_TO_CONTACT = """
    INSERT INTO deliveries (notice, person_id, channel, subject, kind, purpose, transactional,
                            address, language, params)
    SELECT $1, $2,
           CASE WHEN c.email IS NULL AND c.phone IS NOT NULL THEN 'sms' ELSE 'email' END,
           $3, $4, 'applications', true, coalesce(c.email, c.phone), coalesce(c.language, 'en'),
           $5::jsonb || CASE WHEN c.display_name IS NULL THEN '{}'
                             ELSE jsonb_build_object('name', c.display_name) END
    FROM (VALUES (1)) AS one LEFT JOIN contact_points c ON c.person_id = $2
    ON CONFLICT DO NOTHING"""

_NOBODY = """
    INSERT INTO deliveries (notice, person_id, channel, subject, kind, purpose, transactional,
                            params, state, reason, finished_at)
    VALUES ($1, $2, 'email', $3, $4, 'applications', true, $5, 'suppressed', $6, clock_timestamp())
    ON CONFLICT DO NOTHING"""


async def on_application_decided(event: ApplicationDecided, conn: DbConnection, envelope: Envelope) -> None:
    await know_decision(conn, event.decision_id, event.organisation_id, event.title)
    params = event.model_dump(mode="json", exclude={"organisation_id", "contact_person_id"})
    subject = f"decision:{event.decision_id}"
    contact = event.contact_person_id
    if contact is None:
        await conn.execute(_NOBODY, envelope.id, event.application_id, subject, KIND, params, NO_CONTACT)
        return
    if await is_erased(conn, contact):
        return  # an erased person is not written to again
    await conn.execute(_TO_CONTACT, envelope.id, contact, subject, KIND, params)
