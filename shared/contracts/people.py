"""Events about people: residents, members and organizers known to engagement.

Contact data travels only where it is needed: ``person.registered`` goes to every service and
carries none; the address to confirm and the link's token travel in ``person.consent_requested``,
which only notifications binds (routing key = event type)."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.envelope import Event

Language = Literal["en", "es"]


class PersonRegistered(Event):
    """A person was registered in engagement. No contact data: surveys and notifications both
    receive it (v1 carried name, e-mail and phone to surveys, which had no use for them)."""

    type = "person.registered"
    version = 2

    person_id: UUID
    language: Language = "en"
    postal_code: str | None = Field(default=None, max_length=10)
    registered_at: datetime


class ConsentRequested(Event):
    """A person asked to be contacted. Nothing but the confirmation request may be sent to these
    addresses until ``person.consent_confirmed``. The token is the secret of the link the person
    follows to confirm (engagement keeps only its hash)."""

    type = "person.consent_requested"

    person_id: UUID
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=20)
    language: Language = "en"
    confirmation_token: str = Field(min_length=32, max_length=128)
    confirm_by: datetime


class ConsentConfirmed(Event):
    """The person followed the link sent to their address and confirmed: they may be contacted."""

    type = "person.consent_confirmed"

    person_id: UUID
    confirmed_at: datetime


Channel = Literal["email", "sms"]
Purpose = Literal["meetings", "surveys", "campaign_news", "research_demographics"]


class Consent(BaseModel):
    """One channel and one purpose a person agreed to be contacted on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel
    purpose: Purpose


class ConsentChanged(Event):
    """A person's consent changed. Carries the whole current set, not the change, so a consumer
    keeps the newest set by the aggregate's sequence and refuses an older one arriving late."""

    type = "person.consent_changed"

    person_id: UUID
    consents: tuple[Consent, ...] = Field(max_length=8)
    changed_at: datetime


class DetailsChanged(Event):
    """A person changed their details (on their own page). Only notifications binds it: the
    language chooses every message's language; the name and phone go into messages and SMS, so
    they travel only for a person who asked to be contacted (``contact_data``), as notifications
    holds contact data only for them. ``phone`` None with ``contact_data`` means no number now."""

    type = "person.details_changed"

    person_id: UUID
    language: Language
    contact_data: bool
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    changed_at: datetime

    @model_validator(mode="after")
    def _contact_data_only_when_carried(self) -> "DetailsChanged":
        if self.contact_data == (self.display_name is None):
            raise ValueError("display_name (and phone) travel exactly when contact_data is true")
        if not self.contact_data and self.phone is not None:
            raise ValueError("phone travels only when contact_data is true")
        return self


class PersonErased(Event):
    """A person was erased: every service deletes what it holds about them. No contact data; the
    aggregate's sequence is its last, so an event about the person arriving later is refused."""

    type = "person.erased"

    person_id: UUID
    erased_at: datetime


class SignInLinkRequested(Event):
    """A person asked for a link to their own page (``/me``). Only notifications binds it: it
    mails the link to this address, which is carried here because notifications keeps a
    person's address only once they asked to be contacted. The token is the link's secret
    (engagement keeps only its hash); it is single use and expires at ``valid_until``."""

    type = "person.sign_in_link_requested"

    person_id: UUID
    display_name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    language: Language = "en"
    sign_in_token: str = Field(min_length=32, max_length=128)
    valid_until: datetime
