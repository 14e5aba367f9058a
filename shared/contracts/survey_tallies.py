"""``survey.closed``: a survey was closed by its organizer, with the final counts of its
single-choice questions (summed over its versions), so that engagement computes a resident
ballot's outcome from them and never has it typed in.

Only single-choice questions outside the standard demographics section travel (counts of the
"about you" page would describe respondents, which engagement counts from ``response.submitted``
by band instead). No respondent and no answer of anyone travels: counts only. ``pending`` is the
anonymous responses still waiting for their release at that moment (answering/release.py), which
these counts do not hold yet."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import Event


class OptionCount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    option: str = Field(
        pattern=r"^([a-z0-9][a-z0-9_]{0,39}|@other)$", description='an option id, or "@other"'
    )
    label: str = Field(max_length=2000, description="in the survey's main language")
    responses: int = Field(ge=0)


class QuestionTally(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    question: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    prompt: str = Field(max_length=2000, description="in the survey's main language")
    options: tuple[OptionCount, ...] = Field(max_length=51)
    skipped: int = Field(ge=0, description="responses shown the question that left it unanswered")


class SurveyClosed(Event):
    type = "survey.closed"

    survey_id: UUID
    organisation_id: UUID
    closed_at: datetime
    responses: int = Field(ge=0, description="responses counted, over every version")
    pending: int = Field(ge=0, description="anonymous responses not yet released, so not counted")
    questions: tuple[QuestionTally, ...] = Field(default=(), max_length=200)
