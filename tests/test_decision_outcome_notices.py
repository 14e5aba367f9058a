"""Closing the loop: ``decision.recorded`` tells every participant who consented the outcome and
how their input was used, in their language, by their channel, once, through SMTP; the report of
the decision has its line (decision_outcome) and adds up; anonymous respondents are never known;
engagement's event carries the rationale and the uses, and an older one without them still reads."""

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.notifications.deliveries import sender, writing
from shared.bus import Bus
from shared.consumer import Consumer
from shared.contracts import DecisionRecorded, Envelope, PersonErased, ResponseSubmitted, parse_message
from shared.contracts.decisions import InputUsed
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.notices import a_meeting, apply, confirmed, deliveries_of, drain
from tests.support.waiting import eventually
from tests.test_notice_campaigns import notifications
from tests.test_notices import notice_settings
from tests.test_organisations import as_
from tests.test_people_registration import Mailbox, Start, address, smtp

__all__ = ["notice_settings", "notifications", "smtp"]


async def a_person(
    pool: asyncpg.Pool, consents: tuple[str, ...], *, language: str = "en", phone: str | None = None
) -> tuple[uuid.UUID, str]:
    person_id, mail = uuid.uuid4(), address("t")
    await pool.execute(
        """INSERT INTO contact_points (person_id, display_name, email, phone, language, consent_requested,
                                       consent_confirmed_at, consents)
           VALUES ($1, 'Rosa', $2, $3, $4, true, $5, $6)""",
        person_id,
        mail,
        phone,
        language,
        datetime.now(UTC),
        list(consents),
    )
    return person_id, mail


def responded(
    survey_id: uuid.UUID, respondent: uuid.UUID | None, mode: str = "identified"
) -> ResponseSubmitted:
    return ResponseSubmitted(
        response_id=uuid.uuid4(),
        survey_id=survey_id,
        organisation_id=uuid.uuid4(),
        survey_version=1,
        mode=mode,  # type: ignore[arg-type]
        respondent_id=respondent,
    )


def recorded(
    organisation_id: uuid.UUID, survey_id: uuid.UUID, meeting_id: uuid.UUID, **fields: Any
) -> DecisionRecorded:
    decision_id = uuid.uuid4()
    values: dict[str, Any] = {
        "decision_id": decision_id,
        "organisation_id": organisation_id,
        "title": "Rezoning the Northside rail yard",
        "outcome": "amended",
        "survey_ids": (survey_id,),
        "meeting_ids": (meeting_id,),
        "page_path": f"/decisions/{decision_id}",
        "rationale": "Housing is needed, with a buffer from the freight line.",
        "input_used": (
            InputUsed(
                kind="survey", target_id=survey_id, how_used="The survey asked for a park: one was added."
            ),
            InputUsed(kind="meeting", target_id=meeting_id, how_used="The hearing asked for a buffer."),
        ),
    }
    return DecisionRecorded(**(values | fields))


async def test_participants_who_consented_are_told_once_in_their_language_and_the_report_adds_up(
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    notifications: TestClient,
) -> None:
    pool, (mailbox, _) = pools["notifications"], smtp
    organisation_id, survey_id = uuid.uuid4(), uuid.uuid4()
    meeting = a_meeting(organisation_id=organisation_id)
    respondent, respondent_mail = await a_person(pool, ("email:surveys",), language="es")
    news_only, _ = await a_person(pool, ("email:campaign_news",))  # answered, consents to news alone
    both, both_mail = await a_person(pool, ("email:meetings", "email:surveys"))
    registrant, registrant_mail = await a_person(pool, ("email:meetings",))
    no_consent, _ = await a_person(pool, ())  # registering was consent to that meeting only
    waiting, _ = await a_person(pool, ("email:meetings",))
    _, bystander_mail = await a_person(pool, ("email:meetings", "email:surveys"))
    for person in (respondent, news_only, both):
        await apply(pool, responded(survey_id, person))
    await apply(pool, responded(survey_id, respondent))  # a second response of theirs: still one
    await apply(pool, responded(survey_id, None, mode="anonymous"))
    for person, mail in ((both, both_mail), (registrant, registrant_mail), (no_consent, address("n"))):
        await apply(pool, confirmed(meeting, mail, person_id=person))
    waitlisted = confirmed(meeting, address("w"), person_id=waiting)
    await apply(pool, waitlisted)
    await pool.execute("UPDATE notice_registrations SET status = 'waitlisted' WHERE person_id = $1", waiting)
    await pool.execute("DELETE FROM deliveries")  # the registrations' own confirmations
    mailbox.messages.clear()
    assert (
        await pool.fetchval("SELECT count(*) FROM survey_participants WHERE survey_id = $1", survey_id) == 3
    )

    event = recorded(organisation_id, survey_id, meeting.meeting_id)
    envelope = Envelope.wrap(event, producer="engagement", aggregate=f"decision:{event.decision_id}")
    await apply(pool, event, envelope)
    await apply(pool, event, envelope)  # redelivered: nothing more
    await drain(pool, notice_settings)

    states = {
        r["person_id"]: (r["state"], r["reason"])
        for r in await deliveries_of(pool, f"decision:{event.decision_id}")
    }
    assert states == {
        respondent: ("sent", None),
        both: ("sent", None),
        registrant: ("sent", None),
        news_only: ("suppressed", "no_consent"),
        no_consent: ("suppressed", "no_consent"),
    }
    assert not mailbox.to(bystander_mail)
    [spanish] = mailbox.to(respondent_mail)
    assert spanish["Subject"] == "Decidido: Rezoning the Northside rail yard"
    text = spanish.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "aprobada con enmiendas" in text
    assert "Cómo se usó su aporte: The survey asked for a park" in text
    assert "The hearing asked for a buffer" not in text  # not a consultation they took part in
    assert f"http://civic.test/decisions/{event.decision_id}" in text
    assert spanish["List-Unsubscribe"].startswith("<http://civic.test/notifications/u/")
    [told_both] = mailbox.to(both_mail)
    both_text = told_both.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "approved with amendments" in both_text
    assert "The survey asked for a park" in both_text and "The hearing asked for a buffer" in both_text
    assert "Why: Housing is needed" in both_text
    assert len(mailbox.to(registrant_mail)) == 1

    response = await notifications.get(
        f"/api/v1/notifications/decisions/{event.decision_id}/report",
        headers=as_(f"organizer:{organisation_id}"),
    )
    report = await response.json()
    [line] = report["notices"]
    assert line["kind"] == "decision_outcome"
    assert report["recipients"] == 5 == sum(report["states"].values())
    assert report["states"] == {"sent": 3, "failed": 0, "suppressed": 2, "deferred": 0, "pending": 0}
    assert report["finished"] is True
    other = await notifications.get(
        f"/api/v1/notifications/decisions/{event.decision_id}/report",
        headers=as_(f"organizer:{uuid.uuid4()}"),
    )
    assert other.status == 403
    page = await notifications.get(
        f"/notifications/console/decisions/{event.decision_id}", headers=as_(f"organizer:{organisation_id}")
    )
    assert page.status == 200 and "decision_outcome" in await page.text()


async def test_a_registrant_by_phone_is_told_by_sms_and_erasure_forgets_participation(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["notifications"]
    survey_id, meeting = uuid.uuid4(), a_meeting()
    person, _ = await a_person(pool, ("sms:meetings",), phone="+15035550100")
    await apply(pool, confirmed(meeting, None, phone="+15035550100", person_id=person))
    await apply(pool, responded(survey_id, person))
    event = recorded(meeting.organisation_id, survey_id, meeting.meeting_id)
    await apply(pool, event)
    [row] = await deliveries_of(pool, f"decision:{event.decision_id}")
    assert (row["channel"], row["purpose"], row["transactional"]) == ("sms", "meetings", False)
    erased = PersonErased(person_id=person, erased_at=datetime.now(UTC))
    async with pool.acquire() as conn, conn.transaction():
        await writing.NOTICES.handler_for(erased)(erased, conn, Envelope.wrap(erased, producer="engagement"))
    assert await pool.fetchval("SELECT count(*) FROM survey_participants WHERE person_id = $1", person) == 0


def test_an_older_decision_recorded_without_rationale_or_uses_still_reads() -> None:
    event = recorded(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    raw = Envelope.wrap(event, producer="engagement")
    data = {k: v for k, v in raw.data.items() if k not in ("rationale", "input_used")}
    older = raw.model_copy(update={"data": data | {"a_field_from_later": 1}})
    _, parsed = parse_message(older.model_dump_json().encode())
    assert isinstance(parsed, DecisionRecorded)
    assert parsed.rationale is None and parsed.input_used == ()


async def test_over_rabbitmq_a_respondent_then_the_decision_reach_the_sink(
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    bus: Bus,
    background: Start,
) -> None:
    pool, (mailbox, _) = pools["notifications"], smtp
    survey_id, meeting = uuid.uuid4(), a_meeting()
    person, mail = await a_person(pool, ("email:surveys",))
    await declare_topology(bus, [writing.NOTICES])
    background(Consumer(bus, pool, writing.NOTICES, notice_settings).run())
    background(sender.send_notices(pool, notice_settings))
    event = recorded(meeting.organisation_id, survey_id, meeting.meeting_id)
    for message in (responded(survey_id, person), responded(survey_id, None, mode="anonymous")):
        envelope = Envelope.wrap(message, producer="surveys")
        await bus.publish(envelope.type, envelope.model_dump_json().encode(), message_id=str(envelope.id))
    await eventually(
        lambda: pool.fetchval("SELECT count(*) FROM survey_participants WHERE survey_id = $1", survey_id),
        lambda n: n == 1,
    )
    envelope = Envelope.wrap(event, producer="engagement", aggregate=f"decision:{event.decision_id}")
    for _ in range(2):  # delivered twice
        await bus.publish(envelope.type, envelope.model_dump_json().encode(), message_id=str(envelope.id))
    rows = await eventually(
        lambda: deliveries_of(pool, f"decision:{event.decision_id}"),
        lambda found: [r["state"] for r in found] == ["sent"],
    )
    assert rows[0]["person_id"] == person
    [message] = mailbox.to(mail)
    assert message["Subject"] == "Decided: Rezoning the Northside rail yard"
