"""Every applicant told the outcome: ``application.decided`` becomes one notice to the
application's contact person, in their language, designated or not, through SMTP, once; it was
asked for, so it goes whatever they consented to; an application without a contact is counted in
the decision's report as not told, and why."""

import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.notifications.application_outcomes import KIND, NO_CONTACT
from services.notifications.deliveries import compose
from shared.contracts import ApplicationDecided, Envelope
from shared.settings import Settings
from tests.support.notices import apply, deliveries_of, drain
from tests.test_decision_outcome_notices import a_person
from tests.test_notice_campaigns import notifications
from tests.test_notices import notice_settings
from tests.test_organisations import as_
from tests.test_people_registration import Mailbox, smtp

__all__ = ["notice_settings", "notifications", "smtp"]


def decided(decision_id: uuid.UUID, organisation_id: uuid.UUID, **fields: Any) -> ApplicationDecided:
    values: dict[str, Any] = {
        "decision_id": decision_id,
        "organisation_id": organisation_id,
        "application_id": uuid.uuid4(),
        "title": "Regional training investment designations",
        "community": "Riverbend",
        "designated": True,
        "rank": 3,
        "places": 12,
        "applicants": 72,
        "page_path": f"/decisions/{decision_id}",
    }
    return ApplicationDecided(**(values | fields))


async def test_each_applicant_is_told_once_in_their_language_and_the_report_says_who_was_not(
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    notifications: TestClient,
) -> None:
    pool, (mailbox, _) = pools["notifications"], smtp
    decision_id, organisation_id = uuid.uuid4(), uuid.uuid4()
    # No consent to anything: they asked for this answer by applying.
    designated_contact, designated_mail = await a_person(pool, (), language="es")
    declined_contact, declined_mail = await a_person(pool, ("email:campaign_news",))
    events = [
        decided(decision_id, organisation_id, contact_person_id=designated_contact, community="Riverbend"),
        decided(
            decision_id,
            organisation_id,
            contact_person_id=declined_contact,
            community="Millbrook",
            designated=False,
            rank=31,
        ),
        decided(decision_id, organisation_id, community="Old Quarry", designated=False, rank=40),
    ]
    envelopes = [Envelope.wrap(e, producer="engagement", aggregate=f"decision:{decision_id}") for e in events]
    for event, envelope in zip(events, envelopes, strict=True):
        await apply(pool, event, envelope)
    await drain(pool, notice_settings)
    for event, envelope in zip(events, envelopes, strict=True):
        await apply(pool, event, envelope)  # redelivered: nothing more
    await drain(pool, notice_settings)

    rows = await deliveries_of(pool, f"decision:{decision_id}")
    assert {(r["person_id"], r["kind"], r["state"], r["reason"]) for r in rows} == {
        (designated_contact, KIND, "sent", None),
        (declined_contact, KIND, "sent", None),
        (events[2].application_id, KIND, "suppressed", NO_CONTACT),
    }
    assert len(mailbox.messages) == 2
    [spanish] = mailbox.to(designated_mail)
    assert spanish["Subject"] == "Designada: Riverbend (Regional training investment designations)"
    text = spanish.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Riverbend fue designada: quedó en el puesto 3 de 72 solicitantes, con 12 plazas." in text
    assert f"http://civic.test/decisions/{decision_id}" in text
    assert spanish["List-Unsubscribe"] is None  # asked for, not a purpose one unsubscribes from
    [english] = mailbox.to(declined_mail)
    assert english["Subject"] == "Not designated: Millbrook (Regional training investment designations)"
    english_text = english.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Millbrook has not been designated this time: it ranked 31 of 72 applicants" in english_text
    assert "Hello Rosa," in english_text

    response = await notifications.get(
        f"/api/v1/notifications/decisions/{decision_id}/report", headers=as_(f"organizer:{organisation_id}")
    )
    report = await response.json()
    [line] = report["notices"]
    assert line["kind"] == KIND and line["recipients"] == 3
    assert line["reasons"] == {"suppressed": {NO_CONTACT: 1}}
    assert report["states"] == {"sent": 2, "failed": 0, "suppressed": 1, "deferred": 0, "pending": 0}
    assert report["finished"] is True


async def test_a_contact_without_a_contact_point_is_not_told_and_the_report_says_why(
    pools: dict[str, asyncpg.Pool], notice_settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    pool, (mailbox, _) = pools["notifications"], smtp
    decision_id = uuid.uuid4()
    event = decided(decision_id, uuid.uuid4(), contact_person_id=uuid.uuid4())
    await apply(pool, event, Envelope.wrap(event, producer="engagement"))
    await drain(pool, notice_settings)
    [row] = await deliveries_of(pool, f"decision:{decision_id}")
    assert (row["state"], row["reason"]) == ("suppressed", "no_contact_point")
    assert not mailbox.messages


def test_a_contact_with_a_phone_alone_is_told_by_sms_in_their_language(notice_settings: Settings) -> None:
    event = decided(uuid.uuid4(), uuid.uuid4(), designated=False, rank=20)
    params = {k: v for k, v in event.model_dump(mode="json").items() if k != "contact_person_id"}
    notice = compose.Notice(
        id=1, kind=KIND, channel="sms", purpose="applications", language="es", person_id=uuid.uuid4(),
        name="Rosa", address="+15035550100", params=params,
    )  # fmt: skip
    text = compose.sms_text(notice, notice_settings)
    assert text == (
        "Regional training investment designations: Riverbend no fue designada (puesto 20 de 72, 12 plazas)."
        f" http://civic.test/decisions/{event.decision_id}"
    )
