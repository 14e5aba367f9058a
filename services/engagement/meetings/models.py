"""What the meetings API answers: a meeting as its host sees it, as the public sees it (never
its join link), and its registrations with the access-needs summary. No I/O."""

from datetime import datetime
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from services.engagement.meetings import store
from services.engagement.meetings.rules import (
    MeetingFields,
    MeetingStatus,
    NeedsSummary,
    RegistrationStatus,
    local_of,
)
from shared.contracts import Language
from shared.contracts.meetings import AccessNeed, MeetingKind, Texts


class Meeting(BaseModel):
    """A meeting as its host sees it."""

    model_config = ConfigDict(extra="ignore")
    id: UUID
    kind: MeetingKind
    organisation_id: UUID | None
    cop_id: UUID | None
    host_name: str
    title: Texts
    description: Texts
    time_zone: str
    starts: str = Field(description="local time in time_zone")
    ends: str = Field(description="local time in time_zone")
    starts_at: datetime
    ends_at: datetime
    venue: str | None
    step_free_access: bool
    join_url: str | None
    capacity: int | None
    status: MeetingStatus
    sequence: int
    recording_url: str | None
    decision_id: UUID | None
    is_demo: bool
    updated_at: datetime
    cancelled_at: datetime | None
    confirmed: int = Field(ge=0, description="registrants holding a seat")
    waitlisted: int = Field(ge=0)

    def fields(self) -> MeetingFields:
        """What its host wrote, as a form or a change starts from."""
        return MeetingFields.model_validate(
            {
                **self.model_dump(include=set(MeetingFields.model_fields) - {"title", "description"}),
                "title": self.title.model_dump(),
                "description": self.description.model_dump(),
            }
        )


def meeting_of(row: asyncpg.Record) -> Meeting:
    zone = row["time_zone"]
    return Meeting.model_validate(
        {
            **dict(row),
            "title": store.texts(row["title"]),
            "description": store.texts(row["description"]),
            "starts": local_of(row["starts_at"], zone).isoformat(timespec="minutes"),
            "ends": local_of(row["ends_at"], zone).isoformat(timespec="minutes"),
        }
    )


class MeetingList(BaseModel):
    items: list[Meeting]
    page: int
    pages: int = Field(description="how many pages the search fills (at least 1)")


class PublicMeeting(BaseModel):
    """What anyone may read about a meeting: never its join link nor who registered."""

    id: UUID
    kind: MeetingKind
    host_name: str
    title: Texts
    description: Texts
    time_zone: str
    starts: str
    ends: str
    starts_at: datetime
    ends_at: datetime
    venue: str | None
    step_free_access: bool
    online: bool = Field(description="has a join link, sent to registrants holding a seat")
    capacity: int | None
    seats_left: int | None = Field(description="none: no limit")
    status: MeetingStatus
    recording_url: str | None
    decision_id: UUID | None
    registration_open: bool


def public_of(found: Meeting, registration_open: bool) -> PublicMeeting:
    seats_left = None if found.capacity is None else max(0, found.capacity - found.confirmed)
    return PublicMeeting.model_validate(
        {
            **found.model_dump(exclude={"join_url"}),
            "online": found.join_url is not None,
            "seats_left": seats_left,
            "registration_open": registration_open,
        }
    )


class Registration(BaseModel):
    """A registration as its meeting's host sees it."""

    model_config = ConfigDict(extra="ignore")
    id: UUID
    meeting_id: UUID
    person_id: UUID
    display_name: str
    email: str | None
    phone: str | None
    language: Language
    status: RegistrationStatus
    needs: tuple[AccessNeed, ...]
    interpretation: str | None
    waiting_position: int | None = Field(description="place in the waitlist, for one waiting")
    registered_at: datetime
    cancelled_at: datetime | None
    attended_at: datetime | None


def registration_of(row: asyncpg.Record) -> Registration:
    waiting = row["waiting_position"] if row["status"] == RegistrationStatus.WAITLISTED else None
    return Registration.model_validate({**dict(row), "waiting_position": waiting})


class RegistrationList(BaseModel):
    items: list[Registration]
    page: int
    pages: int
    confirmed: int
    waitlisted: int
    needs: NeedsSummary


class MeetingRegistrationAccepted(BaseModel):
    """The answer to a registration: a seat or a place in the waitlist, and the personal link to
    change or cancel it (its secret is in the path; only its hash is kept)."""

    registration_id: UUID
    status: RegistrationStatus
    waiting_position: int | None
    link_path: str


class Attendance(BaseModel):
    """Check-in: the registrations the host ticked (``attended``) among those on the list they
    saw (``shown``): a registration shown and not ticked is not come (a tick undone)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    attended: tuple[UUID, ...] = Field(default=(), max_length=1000)
    shown: tuple[UUID, ...] = Field(default=(), max_length=1000)


class AttendanceRecorded(BaseModel):
    newly_attended: int = Field(ge=0)
