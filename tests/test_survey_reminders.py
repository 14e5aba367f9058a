"""Survey reminders: surveys tells invitation.reminder_due once per invitation not used yet, for a
survey closing soon, however many replicas race for them and however often the job runs;
notifications sends each as a delivery in the invitee's language, once, through SMTP, and learns
nothing of responses (the event names the invitation, never a response)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.notifications.survey_notices import INVITATIONS
from services.surveys.invitations import issuing, reminders, store
from shared.bus import Bus
from shared.consumer import Consumer
from shared.contracts import AudienceMember, Envelope, InvitationReminderDue
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.notices import drain
from tests.support.waiting import eventually
from tests.test_decision_outcome_notices import a_person
from tests.test_notices import notice_settings
from tests.test_people_registration import Mailbox, Start, smtp
from tests.test_survey_invitations import a_survey

__all__ = ["notice_settings", "smtp"]


async def invited(pool: asyncpg.Pool, closes_in: timedelta, people: list[tuple[uuid.UUID, str]]) -> uuid.UUID:
    survey = await a_survey(pool, access="invited", closes_at=datetime.now(UTC) + closes_in)
    async with pool.acquire() as conn, conn.transaction():
        row = await store.survey(conn, survey["id"])
        members = [AudienceMember(person_id=p, language=language) for p, language in people]  # type: ignore[arg-type]
        await issuing.issue(conn, row, members, campaign_id=None)
    return survey["id"]


async def reminders_told(pool: asyncpg.Pool, survey_id: uuid.UUID) -> list[Envelope]:
    rows = await pool.fetch(
        """SELECT payload FROM outbox WHERE routing_key = 'invitation.reminder_due'
           AND payload -> 'data' ->> 'survey_id' = $1 ORDER BY id""",
        str(survey_id),
    )
    return [Envelope.model_validate(r["payload"]) for r in rows]


async def test_unused_invitations_are_reminded_once_and_mailed_in_the_invitees_language(
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    bus: Bus,
    background: Start,
) -> None:
    surveys, notifications, (mailbox, _) = pools["surveys"], pools["notifications"], smtp
    english, english_mail = await a_person(notifications, ("email:surveys",))
    spanish, spanish_mail = await a_person(notifications, ("email:surveys",), language="es")
    answered, answered_mail = await a_person(notifications, ("email:surveys",))
    declined, _ = await a_person(notifications, ("email:meetings",))
    soon = await invited(
        surveys, timedelta(hours=20), [(english, "en"), (spanish, "es"), (answered, "en"), (declined, "en")]
    )
    later = await invited(surveys, timedelta(days=10), [(english, "en")])
    await surveys.execute(
        "UPDATE invitations SET used = true WHERE survey_id = $1 AND person_id = $2", soon, answered
    )

    async def replica() -> int:
        async with surveys.acquire() as conn:
            return await reminders.remind_due(conn)

    counts = await asyncio.gather(*(replica() for _ in range(6)))
    assert sum(counts) >= 3  # other tests' surveys may be due too; ours are checked below
    async with surveys.acquire() as conn:
        assert await reminders.remind_due(conn) == 0  # a restart, or the next round: nothing again
    told = await reminders_told(surveys, soon)
    assert sorted(uuid.UUID(e.data["person_id"]) for e in told) == sorted([english, spanish, declined])
    assert await reminders_told(surveys, later) == []
    for envelope in told:
        assert set(envelope.data) == set(InvitationReminderDue.model_fields)  # no response, no link
        assert "invitation=" not in envelope.model_dump_json()

    await declare_topology(bus, [INVITATIONS])
    background(Consumer(bus, notifications, INVITATIONS, notice_settings).run())
    for envelope in told * 2:  # each delivered twice over RabbitMQ: one reminder each
        await bus.publish(envelope.type, envelope.model_dump_json().encode(), message_id=str(envelope.id))

    async def written() -> int:
        return int(
            await notifications.fetchval(
                """SELECT count(*) FROM inbox
                   WHERE consumer = 'notifications.invitations' AND event_id = ANY ($1)""",
                [e.id for e in told],
            )
        )

    await eventually(written, lambda n: n == 3)
    await drain(notifications, notice_settings)

    rows = await notifications.fetch(
        "SELECT person_id, state, reason FROM deliveries WHERE kind = 'survey_reminder' AND subject = $1",
        f"survey:{soon}",
    )
    assert len(rows) == 3
    assert {r["person_id"]: (r["state"], r["reason"]) for r in rows} == {
        english: ("sent", None),
        spanish: ("sent", None),
        declined: ("suppressed", "no_consent"),
    }
    [reminder] = mailbox.to(english_mail)
    assert reminder["Subject"].startswith("A reminder: the survey")
    [recordatorio] = mailbox.to(spanish_mail)
    assert recordatorio["Subject"].startswith("Un recordatorio")
    assert "cierra pronto" in recordatorio["Subject"]
    assert mailbox.to(answered_mail) == []
