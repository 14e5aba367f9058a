"""Events about notices: one that could not be delivered, and a person's unsubscribe.

Neither carries contact data (no address, no name): who it concerns is a person id, what it
concerns the notice's subject (``meeting:<id>``, ``campaign:<id>``). Both are about the person
(aggregate ``person:<id>``), so erasure finds them in the outbox."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.envelope import Event
from shared.contracts.people import Channel, Purpose


class NotificationFailed(Event):
    """A notice was refused for good (an SMTP 5xx answer, a provider's refusal, or retries used
    up): the person did not get it. ``reason`` is the answer as the server gave it."""

    type = "notification.failed"

    delivery_id: int = Field(ge=1)
    person_id: UUID
    subject: str = Field(max_length=100, description="meeting:<id> or campaign:<id>")
    kind: str = Field(max_length=40)
    channel: Channel
    reason: str = Field(max_length=500)
    failed_at: datetime


class PersonUnsubscribed(Event):
    """A person asked to stop receiving a purpose's messages on a channel, by the signed link
    in a message (one click, RFC 8058) or on their preferences page."""

    type = "person.unsubscribed"

    person_id: UUID
    channel: Channel
    purpose: Purpose
    how: Literal["one_click", "preferences"]
    unsubscribed_at: datetime


class CampaignContacted(Event):
    """Campaign news was accepted by the server for ``newly_contacted`` more people of the
    campaign's audience (each person at most once per campaign): told once per batch of sends
    recorded, in the transaction that records them, so the counts add up to the people reached."""

    type = "campaign.contacted"

    campaign_id: UUID
    newly_contacted: int = Field(ge=1)
    contacted_at: datetime
