"""Events about surveys: invitations to answer and the responses given.

No contact data travels here. ``invitation.issued`` carries what notifications needs to send the
link (whom, in which language, the link's token) and nothing about the person's answers;
``response.submitted`` carries what others count (the survey, the region and ZIP, the answers to
the demographics section, the campaign) and names the respondent only when the survey is not
anonymous and they answered by invitation."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from shared.contracts.envelope import Event

SurveyMode = Literal["anonymous", "confidential", "identified"]
BandCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]


class InvitationIssued(Event):
    """A person was invited to answer a survey. The token is the secret of their link
    (/surveys/s/<slug>?invitation=<token>); surveys keeps only its hash. Only notifications binds
    it, and sends the link only on the person's consent to be contacted about surveys."""

    type = "invitation.issued"

    invitation_id: UUID
    survey_id: UUID
    person_id: UUID
    campaign_id: UUID | None = None
    language: str = Field(min_length=2, max_length=20)
    title: str = Field(min_length=1, max_length=2000, description="the survey's title in that language")
    link_path: str = Field(pattern=r"^/surveys/s/[a-z0-9-]+\?invitation=[A-Za-z0-9_-]{32,128}$")
    closes_at: datetime | None = None


class ResponseSubmitted(Event):
    """A response was stored (for an anonymous survey: released, together with others, in
    random order, so the event's time says nothing about when its token was used).
    ``demographics`` holds the answers to the standard demographics section that were given:
    dimension -> the band codes chosen (several for race and ethnicity)."""

    type = "response.submitted"

    response_id: UUID
    survey_id: UUID
    organisation_id: UUID
    survey_version: int = Field(ge=1)
    mode: SurveyMode
    region_id: UUID | None = None
    postal_code: str | None = Field(default=None, max_length=10)
    campaign_id: UUID | None = None
    respondent_id: UUID | None = Field(
        default=None, description="the invited person, for a confidential or identified survey only"
    )
    demographics: dict[BandCode, tuple[BandCode, ...]] = Field(default_factory=dict, max_length=10)


class InvitationReminderDue(Event):
    """An invitation not used yet, some time before its survey closes: surveys tells it once per
    invitation, so notifications can remind the invitee without learning anything of responses
    (an invitation used is never told). No link: its token is nowhere but in the invitation."""

    type = "invitation.reminder_due"

    invitation_id: UUID
    survey_id: UUID
    person_id: UUID
    campaign_id: UUID | None = None
    language: str = Field(min_length=2, max_length=20)
    title: str = Field(min_length=1, max_length=2000, description="the survey's title in that language")
    closes_at: datetime | None = None
