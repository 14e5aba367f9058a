"""Notices of a meeting end to end through SMTP (an in-process aiosmtpd): the registration's
invite, the change's update and the cancellation parse with icalendar and hit one UID with a
rising SEQUENCE; a redelivered event sends nothing twice; a waitlisted registrant gets no invite."""

import uuid
from datetime import timedelta

import asyncpg
import icalendar
import pytest

from services.notifications.calendar import uid
from shared.contracts import MeetingCancelled, MeetingUpdated, RegistrationWaitlisted
from shared.contracts.meetings import Registrant
from shared.settings import Settings
from tests.support.notices import a_meeting, apply, confirmed, deliveries_of, drain
from tests.test_people_registration import Mailbox, address, smtp

__all__ = ["smtp"]


@pytest.fixture
def notice_settings(settings: Settings, smtp: tuple[Mailbox, int]) -> Settings:
    return settings.model_copy(
        update={"smtp_port": smtp[1], "public_url": "http://civic.test", "notice_retry_s": [0.05, 0.1]}
    )


def calendar_of(message: object) -> icalendar.Calendar:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]  # type: ignore[attr-defined]
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


async def test_invite_update_and_cancellation_move_one_calendar_entry(
    pools: dict[str, asyncpg.Pool], notice_settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    pool, (mailbox, _) = pools["notifications"], smtp
    meeting = a_meeting()
    ana = address("ana")
    registration = confirmed(meeting, ana)
    envelope = await apply(pool, registration)
    await apply(pool, registration, envelope)  # redelivered: nothing more
    moved = meeting.model_copy(
        update={
            "starts_at": meeting.starts_at + timedelta(days=1),
            "ends_at": meeting.ends_at + timedelta(days=1),
            "sequence": 1,
        }
    )
    await apply(
        pool,
        MeetingUpdated(
            meeting=moved,
            join_url="https://meet.example.org/equity2",
            changed=("starts_at", "ends_at"),
            updated_at=moved.starts_at,
        ),
    )
    await drain(pool, notice_settings)
    cancelled = moved.model_copy(update={"sequence": 2})
    await apply(pool, MeetingCancelled(meeting=cancelled, cancelled_at=moved.starts_at))
    await drain(pool, notice_settings)

    invite, update, cancellation = mailbox.to(ana)
    calendars = [calendar_of(m) for m in (invite, update, cancellation)]
    assert [str(c["METHOD"]) for c in calendars] == ["REQUEST", "REQUEST", "CANCEL"]
    events = [c.events[0] for c in calendars]
    assert {str(e["UID"]) for e in events} == {uid(str(meeting.meeting_id))}
    assert [int(e["SEQUENCE"]) for e in events] == [0, 1, 2]
    assert str(events[2]["STATUS"]) == "CANCELLED" and str(events[0]["STATUS"]) == "CONFIRMED"
    for c, e, facts in zip(calendars, events, (meeting, moved, cancelled), strict=True):
        assert e["DTSTART"].params["TZID"] == "America/Los_Angeles"
        assert [tz.tz_name for tz in c.timezones] == ["America/Los_Angeles"]
        assert e.decoded("DTSTART") == facts.starts_at
        assert str(e["ATTENDEE"]) == f"mailto:{ana}"
        assert str(e["ORGANIZER"]).startswith("mailto:")
    assert "Join online: https://meet.example.org/equity2" in update.get_body(("plain",)).get_content()
    assert update.get_body(("html",)) is not None
    assert "List-Unsubscribe" not in invite  # asked for, not a campaign message
    rows = await deliveries_of(pool, f"meeting:{meeting.meeting_id}")
    assert [(r["kind"], r["state"]) for r in rows] == [
        ("registration_confirmed", "sent"),
        ("meeting_updated", "sent"),
        ("meeting_cancelled", "sent"),
    ]


async def test_a_waitlisted_registrant_hears_of_changes_without_an_invite_or_the_join_link(
    pools: dict[str, asyncpg.Pool], notice_settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    pool, (mailbox, _) = pools["notifications"], smtp
    meeting = a_meeting()
    bea = address("bea")
    person = uuid.uuid4()
    await apply(
        pool,
        RegistrationWaitlisted(
            registration_id=uuid.uuid4(),
            person_id=person,
            language="es",
            meeting=meeting,
            registrant=Registrant(display_name="Bea", email=bea),
            link_path=f"/meetings/r/{uuid.uuid4().hex}",
            position=3,
            waitlisted_at=meeting.starts_at,
        ),
    )
    changed = meeting.model_copy(update={"sequence": 1, "venue": "City Hall"})
    await apply(
        pool,
        MeetingUpdated(
            meeting=changed,
            join_url="https://meet.example.org/secret",
            changed=("venue",),
            updated_at=meeting.starts_at,
        ),
    )
    await drain(pool, notice_settings)
    waitlisted, update = mailbox.to(bea)
    assert (
        "lista de espera" in waitlisted["Subject"]
        and "(número 3)" in waitlisted.get_body(("plain",)).get_content()
    )
    assert not list(waitlisted.iter_attachments()) and not list(update.iter_attachments())
    assert "secret" not in update.as_string()
