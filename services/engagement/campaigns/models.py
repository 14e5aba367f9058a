"""What the campaigns API reads and answers, and the rules of a campaign's life. No I/O.

A campaign is a draft until it is launched, and can be edited only then: once launched, its
audience has been announced (``campaign.launched``) and changing it would make the reach
reported against it meaningless. A launched campaign is closed when its outreach ends."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.engagement.accounts.models import DisplayName
from services.engagement.community.models import PAGE_SIZE, Description, Query, pages
from shared.contracts.campaigns import MAX_PARTS, Audience

__all__ = ["PAGE_SIZE", "Audience", "Query", "pages"]

LinkedIds = Annotated[tuple[UUID, ...], Field(max_length=MAX_PARTS)]


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    LAUNCHED = "launched"
    CLOSED = "closed"


class Step(StrEnum):
    """The explicit actions that move a campaign on."""

    LAUNCH = "launch"
    CLOSE = "close"


_NEXT = {
    (CampaignStatus.DRAFT, Step.LAUNCH): CampaignStatus.LAUNCHED,
    (CampaignStatus.LAUNCHED, Step.CLOSE): CampaignStatus.CLOSED,
}


def after(status: CampaignStatus, step: Step) -> CampaignStatus | None:
    """The status ``step`` leads to from ``status``; None when it cannot be taken from there."""
    return _NEXT.get((status, step))


def editable(status: CampaignStatus) -> bool:
    return status is CampaignStatus.DRAFT


class CampaignFields(BaseModel):
    """A campaign as an organizer writes it (all of it each time). Surveys, meetings and
    decisions are named by id only: the services that will own them do not exist yet."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    organisation_id: UUID = Field(description="the organisation running it (GET /api/v1/organisations)")
    title: DisplayName
    goal: Description = ""
    audience: Audience = Audience()
    survey_ids: LinkedIds = ()
    meeting_ids: LinkedIds = ()
    decision_ids: LinkedIds = ()

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        for name in ("survey_ids", "meeting_ids", "decision_ids"):
            ids = getattr(self, name)
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name} names one twice")
        return self


class Campaign(CampaignFields):
    model_config = ConfigDict(extra="ignore")
    id: UUID
    organisation_name: str
    status: CampaignStatus
    is_demo: bool
    updated_at: datetime
    launched_at: datetime | None
    closed_at: datetime | None


class CampaignList(BaseModel):
    items: list[Campaign]
    page: int
    pages: int = Field(description="how many pages the search fills (at least 1)")


class AudienceSize(BaseModel):
    """How many people the audience holds now (erased people are gone), and how many of them
    confirmed they agree to be contacted: only those may be."""

    people: int = Field(ge=0)
    consenting: int = Field(ge=0)
