"""Meetings and registrations: what an organizer and a registrant write, and the rules, without I/O.

Times are written as the host reads them (local, in a named IANA zone) and kept as UTC instants
with the zone's name, so a meeting at 18:00 in Los Angeles stays at 18:00 there across a change
of the clocks between scheduling and meeting. A local time the zone skips (clocks go forward)
is refused; one it has twice (clocks go back) is the first of the two.

A meeting with a capacity seats registrants in the order they register and puts the rest on a
waitlist; a freed seat goes to the first in line. Without a capacity everyone has a seat."""

import zoneinfo
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Annotated, Self, cast, get_args
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonDict

from services.engagement.accounts.models import DisplayName
from services.engagement.community.models import Description
from services.engagement.people import (
    _CONSENT_NEEDS_AN_ADDRESS,
    EMAIL_PATTERN,
    NAME_PATTERN,
    PHONE_PATTERN,
    PersonRegistration,
)
from shared.contracts import Language
from shared.contracts.meetings import AccessNeed, MeetingKind, Texts

ACCESS_NEEDS: tuple[AccessNeed, ...] = get_args(AccessNeed)
KINDS: tuple[MeetingKind, ...] = get_args(MeetingKind)
# A meeting that runs longer than this is a mistyped date, not a meeting.
LONGEST = timedelta(days=7)
MAX_CAPACITY = 100_000


@cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _known_zone(name: str) -> str:
    if name not in time_zones():
        raise ValueError("is not an IANA time zone name, such as America/Los_Angeles")
    return name


TimeZoneName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$", max_length=64),
    AfterValidator(_known_zone),
]
# As an HTML datetime-local input sends it: no offset, the zone is a field of its own.
LocalTime = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$")
]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00-\x1f\x7f]+$", max_length=2000)]
OneLine = Annotated[
    str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]*$", max_length=500, strip_whitespace=True)
]


class NotALocalTime(ValueError):
    """The zone skips this local time: its clocks go forward over it."""


def to_utc(local: datetime, zone: str) -> datetime:
    """The instant a local wall-clock time names in ``zone`` (the first, when it names two)."""
    placed = local.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=0)
    instant = placed.astimezone(UTC)
    if instant.astimezone(placed.tzinfo).replace(tzinfo=None) != local:
        raise NotALocalTime(f"{local:%Y-%m-%d %H:%M} does not exist in {zone}: the clocks skip it")
    return instant


def local_of(instant: datetime, zone: str) -> datetime:
    """The wall-clock time ``instant`` is in ``zone``, without its offset."""
    return instant.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)


def parse_local(text: str) -> datetime:
    return datetime.fromisoformat(text)


class TitleTexts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    en: DisplayName
    es: DisplayName | None = None

    @field_validator("es", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class DescriptionTexts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    en: Description = ""
    es: Description | None = None

    @field_validator("es", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def in_language(texts: TitleTexts | DescriptionTexts | Texts, language: str) -> str:
    """The text in ``language``, English when the host wrote none in it."""
    return (texts.es if language == "es" else None) or texts.en


class MeetingFields(BaseModel):
    """A meeting as its host writes it (all of it each time). An in-person meeting and a public
    hearing have a venue, a webinar a join link, a hybrid meeting both."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: MeetingKind
    organisation_id: UUID | None = Field(default=None, description="the host organisation, or")
    cop_id: UUID | None = Field(default=None, description="the host Community of Practice")
    title: TitleTexts
    description: DescriptionTexts = DescriptionTexts()
    time_zone: TimeZoneName
    starts: LocalTime = Field(description="local time in time_zone, e.g. 2025-11-20T18:00")
    ends: LocalTime = Field(description="local time in time_zone")
    venue: OneLine | None = None
    step_free_access: bool = False
    join_url: Url | None = Field(default=None, description="for registrants only, never on the public page")
    capacity: int | None = Field(default=None, ge=1, le=MAX_CAPACITY, description="none: no limit")
    recording_url: Url | None = Field(default=None, description="a recording or the minutes, afterwards")
    decision_id: UUID | None = None

    @field_validator("venue", mode="before")
    @classmethod
    def _no_venue(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.organisation_id is None) == (self.cop_id is None):
            raise ValueError("organisation_id: name either organisation_id or cop_id as the host")
        if self.kind != "webinar" and self.venue is None:
            raise ValueError("venue: an in-person, hybrid or public meeting needs a venue")
        if self.kind in ("webinar", "hybrid") and self.join_url is None:
            raise ValueError("join_url: a webinar or hybrid meeting needs a join link")
        starts, ends = (
            _instant("starts", self.starts, self.time_zone),
            _instant("ends", self.ends, self.time_zone),
        )
        if not starts < ends <= starts + LONGEST:
            raise ValueError("ends: the end must come after the start, within seven days")
        return self

    @property
    def starts_at(self) -> datetime:
        return to_utc(parse_local(self.starts), self.time_zone)

    @property
    def ends_at(self) -> datetime:
        return to_utc(parse_local(self.ends), self.time_zone)


def _instant(field: str, local: str, zone: str) -> datetime:
    try:
        return to_utc(parse_local(local), zone)
    except NotALocalTime as exc:
        raise ValueError(f"{field}: {exc}") from exc
    except ValueError as exc:  # a day or hour out of range: 2025-02-30, 25:00
        raise ValueError(f"{field}: not a date and time ({exc})") from exc


def location_of(message: str, model: type[BaseModel]) -> str:
    """The field a cross-field refusal is about (its message starts with it), else "form"."""
    head = message.removeprefix("Value error, ").split(":", 1)[0]
    return head if head in model.model_fields else "form"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


def seat(capacity: int | None, confirmed: int) -> RegistrationStatus:
    """A new registrant's place, given how many hold a seat now."""
    if capacity is None or confirmed < capacity:
        return RegistrationStatus.CONFIRMED
    return RegistrationStatus.WAITLISTED


def seats_free(capacity: int | None, confirmed: int, waiting: int) -> int:
    """How many of the waitlist the free seats take (all of it without a capacity)."""
    if capacity is None:
        return waiting
    return max(0, min(waiting, capacity - confirmed))


class Closed(StrEnum):
    """Why a meeting takes no registrations."""

    CANCELLED = "cancelled"
    OVER = "over"


def closed_for_registration(status: MeetingStatus, ends_at: datetime, now: datetime) -> Closed | None:
    if status is MeetingStatus.CANCELLED:
        return Closed.CANCELLED
    if ends_at <= now:
        return Closed.OVER
    return None


# What a change to these fields tells a registrant: the notice names them (meeting.updated).
COMPARED = (
    "kind",
    "title",
    "description",
    "time_zone",
    "starts",
    "ends",
    "venue",
    "step_free_access",
    "join_url",
    "capacity",
    "recording_url",
    "decision_id",
    "organisation_id",
    "cop_id",
)


def changed_fields(before: MeetingFields, after: MeetingFields) -> tuple[str, ...]:
    """The fields whose value differs. A time written again in another zone that names the same
    instant is no change of time (``starts``, ``ends`` compare instants)."""
    changed = []
    for name in COMPARED:
        if name in ("starts", "ends", "time_zone"):
            instant = "starts_at" if name == "starts" else "ends_at"
            if (name != "time_zone" and getattr(before, instant) != getattr(after, instant)) or (
                name == "time_zone" and before.time_zone != after.time_zone
            ):
                changed.append(name)
        elif getattr(before, name) != getattr(after, name):
            changed.append(name)
    return tuple(changed)


# Registration's rules, on the value stripped as registration strips it: a person is found by it.
def _email(value: str | None) -> str | None:
    return PersonRegistration._email(None if value is None else value.strip())


def _phone(value: str | None) -> str | None:
    return PersonRegistration._phone(None if value is None else value.strip())


def _name(value: str) -> str:
    return PersonRegistration._typed_name(value.strip())


# An e-mail address or a phone number, not blank: what registration's document asks with consent.
_AN_ADDRESS = cast(JsonDict, _CONSENT_NEEDS_AN_ADDRESS["then"])


class RegistrationFields(BaseModel):
    """What a resident types on a meeting's page: no account. An e-mail address or a phone
    number to hear about this meeting on (registering is consent to that, for this meeting)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_AN_ADDRESS)
    display_name: Annotated[str, AfterValidator(_name)] = Field(
        min_length=1, max_length=200, json_schema_extra={"pattern": NAME_PATTERN}
    )
    email: Annotated[str | None, AfterValidator(_email)] = Field(
        default=None, max_length=320, json_schema_extra={"pattern": EMAIL_PATTERN}
    )
    phone: Annotated[str | None, AfterValidator(_phone)] = Field(
        default=None, max_length=40, json_schema_extra={"pattern": PHONE_PATTERN}
    )
    language: Language = "en"
    needs: tuple[AccessNeed, ...] = Field(
        default=(), max_length=len(ACCESS_NEEDS), json_schema_extra={"uniqueItems": True}
    )
    interpretation: OneLine | None = Field(
        default=None, max_length=60, description="a language to interpret into, when wanted"
    )

    @field_validator("interpretation", mode="before")
    @classmethod
    def _none_wanted(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.email is None and self.phone is None:
            raise ValueError("email: give an e-mail address or a phone number to hear about the meeting")
        if len(set(self.needs)) != len(self.needs):
            raise ValueError("needs: names one twice")
        return self

    def person(self) -> PersonRegistration:
        """The person to register when nobody has this address yet: no general consent."""
        return PersonRegistration(
            display_name=self.display_name, email=self.email, phone=self.phone, language=self.language
        )


class RegistrationChange(BaseModel):
    """What a registrant may change by their link: their language and access needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    language: Language = "en"
    needs: tuple[AccessNeed, ...] = Field(
        default=(), max_length=len(ACCESS_NEEDS), json_schema_extra={"uniqueItems": True}
    )
    interpretation: OneLine | None = Field(default=None, max_length=60)

    @field_validator("interpretation", mode="before")
    @classmethod
    def _none_wanted(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("needs")
    @classmethod
    def _once_each(cls, value: tuple[AccessNeed, ...]) -> tuple[AccessNeed, ...]:
        if len(set(value)) != len(value):
            raise ValueError("names one twice")
        return value


class NeedsSummary(BaseModel):
    """For the host: how many of those holding a seat (and of those waiting) asked for each
    access need, and for interpretation into each language."""

    seated: dict[str, int]
    waiting: dict[str, int]
    interpretation: dict[str, int] = Field(description="language -> registrants holding a seat")


def summarise(rows: list[tuple[RegistrationStatus, tuple[str, ...], str | None]]) -> NeedsSummary:
    """Counted over registrations not cancelled: (status, needs, interpretation) of each."""
    seated: dict[str, int] = dict.fromkeys(ACCESS_NEEDS, 0)
    waiting: dict[str, int] = dict.fromkeys(ACCESS_NEEDS, 0)
    interpretation: dict[str, int] = {}
    for status, needs, language in rows:
        counts = {RegistrationStatus.CONFIRMED: seated, RegistrationStatus.WAITLISTED: waiting}.get(status)
        if counts is None:
            continue
        for need in needs:
            counts[need] += 1
        if language and status is RegistrationStatus.CONFIRMED:
            key = language.strip().casefold()
            interpretation[key] = interpretation.get(key, 0) + 1
    return NeedsSummary(seated=seated, waiting=waiting, interpretation=dict(sorted(interpretation.items())))
