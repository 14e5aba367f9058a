"""Events about people: residents, members and organizers known to engagement."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.envelope import Event

Language = Literal["en", "es"]


class PersonRegistered(Event):
    """A person was registered in engagement. Carries contact data because notifications
    needs it; consumers that do not (surveys) must not store it."""

    type = "person.registered"

    person_id: UUID
    display_name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=20)
    language: Language = "en"
    postal_code: str | None = Field(default=None, max_length=10)
    consent_to_contact: bool
    registered_at: datetime
