"""Events about development decisions.

``decision.recorded`` tells that a decision's outcome was recorded, so that notifications can
tell everyone who took part in its consultations (and consented) what was decided and how their
input was used: the decision, its outcome and title, and the ids of the surveys and meetings
that consulted on it, the rationale and how each consultation's input was used (optional: an
older producer did not send them, and a receiver reads them as absent). No contact data and no
participant travels here; whoever sends resolves the participants of those surveys and meetings
against their own records and consent. The public decision page (``/decisions/<decision_id>``)
holds the rest: the votes by name, the ballot, the ledger."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import Event

Outcome = Literal["approved", "rejected", "amended", "deferred"]


class InputUsed(BaseModel):
    """How one consultation's input was used, as the decision's recording says."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["survey", "meeting"]
    target_id: UUID
    how_used: str = Field(min_length=1, max_length=4000)


class DecisionRecorded(Event):
    type = "decision.recorded"

    decision_id: UUID
    organisation_id: UUID
    title: str = Field(min_length=1, max_length=200)
    outcome: Outcome
    survey_ids: tuple[UUID, ...] = Field(default=(), max_length=50)
    meeting_ids: tuple[UUID, ...] = Field(default=(), max_length=50)
    page_path: str = Field(pattern=r"^/decisions/[0-9a-f-]{36}$", description="the public decision page")
    rationale: str | None = Field(default=None, max_length=8000)
    input_used: tuple[InputUsed, ...] = Field(default=(), max_length=50)


class ApplicationDecided(Event):
    """A competition's outcome for one applicant, one event per application, so each is told
    theirs: designated or not, its place in the ranking of weighted scores. The contact is a
    registered person's id (none: nobody to tell); whoever sends resolves their address and
    consent. The public page (``page_path``) shows every applicant's scores by reviewer."""

    type = "application.decided"

    decision_id: UUID
    organisation_id: UUID
    application_id: UUID
    title: str = Field(min_length=1, max_length=200, description="the competition's")
    community: str = Field(min_length=1, max_length=200)
    designated: bool
    rank: int = Field(ge=1, description="its place in the ranking, 1 the highest weighted score")
    places: int = Field(ge=1, description="how many were designated at most")
    applicants: int = Field(ge=1)
    contact_person_id: UUID | None = None
    page_path: str = Field(pattern=r"^/decisions/[0-9a-f-]{36}$", description="the public decision page")
