"""Events about meetings and webinars and the registrations for them.

A meeting's times travel as UTC instants with the IANA time zone it is held in, so whoever
writes the notice (and its calendar entry's TZID) shows the local time the host chose. ``sequence``
is the meeting's own change count (0 when scheduled, one more on every change): the calendar
entry's SEQUENCE, so a later notice replaces an earlier one in a person's calendar.

Where contact data goes (see shared/contracts/people.py): ``meeting.*`` events carry none. The
``registration.*`` events carry the registrant's name and the address they registered with, as
``person.consent_requested`` does, and only notifications binds them (routing key = event type):
registering for a meeting is consent to be contacted about that meeting only (purpose
``meetings``, this registration), never general consent. They are about the person (aggregate
``person:<id>``), so erasure deletes those still in the outbox. The join link of an online
meeting is never on its public page: it travels in the events whose notices reach only people
holding a seat (``registration.confirmed`` and ``registration.promoted``) and in
``meeting.updated``, whose notice goes to the meeting's registrants alone."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import Event
from shared.contracts.people import Language

MeetingKind = Literal["in_person", "webinar", "hybrid", "public_hearing"]
AccessNeed = Literal["asl", "captions", "childcare", "step_free_access"]


class Texts(BaseModel):
    """A text in English and, when the host wrote one, Spanish (shown in English otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    en: str = Field(max_length=2000)
    es: str | None = Field(default=None, max_length=2000)


class MeetingFacts(BaseModel):
    """What every notice about a meeting says: what, who hosts it, when and where."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    meeting_id: UUID
    kind: MeetingKind
    organisation_id: UUID | None = Field(default=None, description="the host, when an organisation")
    cop_id: UUID | None = Field(default=None, description="the host, when a Community of Practice")
    title: Texts
    starts_at: datetime = Field(description="UTC")
    ends_at: datetime = Field(description="UTC")
    time_zone: str = Field(min_length=1, max_length=64, description="IANA name, e.g. America/Los_Angeles")
    venue: str | None = Field(default=None, max_length=500)
    step_free_access: bool = False
    sequence: int = Field(ge=0)


class MeetingScheduled(Event):
    """A meeting was scheduled. No join link: the audience it may be announced to holds no seat."""

    type = "meeting.scheduled"

    meeting: MeetingFacts
    scheduled_at: datetime


class MeetingUpdated(Event):
    """A scheduled meeting changed (``changed`` names its fields that did); ``meeting.sequence``
    is one more than in the last event about it. The join link is for its registrants' notices."""

    type = "meeting.updated"

    meeting: MeetingFacts
    join_url: str | None = Field(default=None, max_length=2000)
    recording_url: str | None = Field(default=None, max_length=2000)
    changed: tuple[str, ...] = Field(max_length=20)
    updated_at: datetime


class MeetingCancelled(Event):
    """A meeting was cancelled: every registrant's calendar entry goes (METHOD:CANCEL)."""

    type = "meeting.cancelled"

    meeting: MeetingFacts
    cancelled_at: datetime


class Registrant(BaseModel):
    """Who registered and where they asked to hear about this meeting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=20)


class _RegistrationEvent(Event):
    registration_id: UUID
    person_id: UUID
    language: Language
    meeting: MeetingFacts
    registrant: Registrant
    purpose: Literal["meetings"] = Field(
        default="meetings", description="what the registrant agreed to be contacted about: this meeting"
    )


class RegistrationConfirmed(_RegistrationEvent):
    """A registrant has a seat. ``link_path`` holds the secret of their personal link to change
    or cancel (engagement keeps only its hash), ``join_url`` the online meeting's link."""

    type = "registration.confirmed"

    link_path: str = Field(pattern=r"^/meetings/r/[A-Za-z0-9_-]{32,128}$")
    join_url: str | None = Field(default=None, max_length=2000)
    confirmed_at: datetime


class RegistrationWaitlisted(_RegistrationEvent):
    """The meeting was full: the registrant waits (``position``-th in line), without the join link."""

    type = "registration.waitlisted"

    link_path: str = Field(pattern=r"^/meetings/r/[A-Za-z0-9_-]{32,128}$")
    position: int = Field(ge=1)
    waitlisted_at: datetime


class RegistrationPromoted(_RegistrationEvent):
    """A seat freed and went to this waitlisted registrant, in the transaction that freed it."""

    type = "registration.promoted"

    join_url: str | None = Field(default=None, max_length=2000)
    promoted_at: datetime


class RegistrationCancelled(_RegistrationEvent):
    """The registrant cancelled, by their link. (A meeting's cancellation is ``meeting.cancelled``:
    its registrations stay as they were, for the record of who had registered.)"""

    type = "registration.cancelled"

    cancelled_at: datetime


class MeetingAttended(Event):
    """The host ticked the registrant at check-in. No contact data."""

    type = "meeting.attended"

    registration_id: UUID
    meeting_id: UUID
    person_id: UUID
    attended_at: datetime
