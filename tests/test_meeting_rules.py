"""The meetings' rules alone, without I/O: local times in a named zone to UTC and back across
daylight saving, seats and the waitlist, what a change changed, the access-needs summary."""

import uuid
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.engagement.meetings.rules import (
    MeetingFields,
    NotALocalTime,
    RegistrationFields,
    RegistrationStatus,
    changed_fields,
    local_of,
    seat,
    seats_free,
    summarise,
    to_utc,
)

LA = "America/Los_Angeles"


def test_a_pacific_evening_is_the_next_utc_day_in_winter_and_summer() -> None:
    assert to_utc(datetime(2031, 1, 15, 18), LA).isoformat() == "2031-01-16T02:00:00+00:00"
    assert to_utc(datetime(2031, 7, 15, 18), LA).isoformat() == "2031-07-16T01:00:00+00:00"


def test_a_time_the_clocks_skip_is_refused_and_one_they_repeat_is_the_first() -> None:
    with pytest.raises(NotALocalTime):
        to_utc(datetime(2031, 3, 9, 2, 30), LA)
    assert to_utc(datetime(2031, 11, 2, 1, 30), LA).isoformat() == "2031-11-02T08:30:00+00:00"  # PDT's


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)))
def test_a_local_time_that_exists_comes_back_as_it_was_typed(local: datetime) -> None:
    local = local.replace(microsecond=0)
    try:
        instant = to_utc(local, LA)
    except NotALocalTime:
        return
    assert local_of(instant, LA) == local


def test_seats_go_in_order_and_free_ones_to_the_waitlist() -> None:
    assert seat(None, 10_000) is RegistrationStatus.CONFIRMED
    assert seat(2, 1) is RegistrationStatus.CONFIRMED
    assert seat(2, 2) is RegistrationStatus.WAITLISTED
    assert seats_free(2, 1, 5) == 1
    assert seats_free(2, 2, 5) == 0
    assert seats_free(10, 2, 3) == 3
    assert seats_free(None, 2, 3) == 3


def a_meeting(**changes: object) -> MeetingFields:
    return MeetingFields.model_validate(
        {
            "kind": "in_person",
            "cop_id": str(uuid.UUID(int=1)),
            "title": {"en": "Hearing"},
            "time_zone": LA,
            "starts": "2031-01-15T18:00",
            "ends": "2031-01-15T19:00",
            "venue": "City hall",
            **changes,
        }
    )


def test_a_change_names_its_fields_and_the_same_instant_in_another_zone_is_no_new_time() -> None:
    before = a_meeting()
    assert changed_fields(before, before) == ()
    assert changed_fields(before, a_meeting(capacity=20, venue="Library")) == ("venue", "capacity")
    same_instant = a_meeting(time_zone="America/Denver", starts="2031-01-15T19:00", ends="2031-01-15T20:00")
    assert changed_fields(before, same_instant) == ("time_zone",)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"venue": None}, "venue"),
        ({"kind": "hybrid"}, "join_url"),
        ({"ends": "2031-01-15T17:00"}, "ends"),
        ({"ends": "2031-01-30T17:00"}, "ends"),
        ({"starts": "2031-02-30T18:00"}, "starts"),
        ({"organisation_id": str(uuid.UUID(int=2))}, "organisation_id"),
    ],
)
def test_a_meeting_that_cannot_be_held_is_refused_at_its_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        a_meeting(**changes)
    [error] = refused.value.errors()
    message = error["msg"].removeprefix("Value error, ")
    assert message.startswith(field) or error["loc"] == (field,)


def test_a_registrant_needs_an_address_and_each_need_once() -> None:
    with pytest.raises(ValidationError):
        RegistrationFields(display_name="Rosa")
    with pytest.raises(ValidationError):
        RegistrationFields(display_name="Rosa", phone="12", needs=())
    with pytest.raises(ValidationError):
        RegistrationFields(display_name="Rosa", email="r@example.org", needs=("asl", "asl"))
    registrant = RegistrationFields(
        display_name=" Rosa ", email="Rosa@Example.ORG", phone="+1 (510) 555-0100"
    )
    assert (registrant.display_name, registrant.email, registrant.phone) == (
        "Rosa",
        "Rosa@example.org",
        "+15105550100",
    )


def test_the_summary_counts_seated_and_waiting_apart_and_not_the_cancelled() -> None:
    summary = summarise(
        [
            (RegistrationStatus.CONFIRMED, ("asl", "captions"), "Vietnamese"),
            (RegistrationStatus.CONFIRMED, ("captions",), "vietnamese "),
            (RegistrationStatus.WAITLISTED, ("childcare",), "Tagalog"),
            (RegistrationStatus.CANCELLED, ("asl",), "Korean"),
        ]
    )
    assert summary.seated == {"asl": 1, "captions": 2, "childcare": 0, "step_free_access": 0}
    assert summary.waiting == {"asl": 0, "captions": 0, "childcare": 1, "step_free_access": 0}
    assert summary.interpretation == {"vietnamese": 2}
