"""What a decision is and the rules of its life, without I/O: the deciding body and its members,
the method, the stages, the equity impact assessment, the votes and the outcome.

A decision moves forward one stage at a time: proposed -> consultation -> deliberation ->
decided -> implementing -> evaluated. It becomes *decided* only by recording its outcome, which
needs the equity impact assessment written first, every linked consultation closed (its
participation counted) and said how its input was used, and one vote for each member of the
body that agrees with the outcome under the method."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.engagement.accounts.models import DisplayName
from services.engagement.community.models import DESCRIPTION_PATTERN

PAGE_SIZE = 25


def _text(max_length: int, min_length: int = 0) -> object:
    return StringConstraints(
        pattern=DESCRIPTION_PATTERN, max_length=max_length, min_length=min_length, strip_whitespace=True
    )


Text = Annotated[str, _text(4000)]
Required = Annotated[str, _text(4000, 1)]
LongText = Annotated[str, _text(8000)]
Line = Annotated[
    str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]*$", max_length=200, strip_whitespace=True)
]
Link = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00-\x1f\x7f]{1,2000}$")]


class Body(StrEnum):
    CITY_COUNCIL = "city_council"
    PLANNING_COMMISSION = "planning_commission"
    COP_STEERING = "cop_steering"
    REVIEW_PANEL = "review_panel"
    RESIDENT_BALLOT = "resident_ballot"


class Method(StrEnum):
    MAJORITY = "majority"
    CONSENSUS = "consensus"
    RESIDENT_BALLOT = "resident_ballot"
    ADMINISTRATIVE = "administrative"


class Stage(StrEnum):
    PROPOSED = "proposed"
    CONSULTATION = "consultation"
    DELIBERATION = "deliberation"
    DECIDED = "decided"
    IMPLEMENTING = "implementing"
    EVALUATED = "evaluated"


STAGES = tuple(Stage)
# The stages an organizer moves a decision to by hand; *decided* comes only with the outcome.
_MOVES = {
    Stage.PROPOSED: Stage.CONSULTATION,
    Stage.CONSULTATION: Stage.DELIBERATION,
    Stage.DECIDED: Stage.IMPLEMENTING,
    Stage.IMPLEMENTING: Stage.EVALUATED,
}


def next_stage(stage: Stage) -> Stage | None:
    """The stage a decision at ``stage`` may be moved on to by hand; None: none (deliberation
    ends by recording the outcome, evaluated is the last)."""
    return _MOVES.get(stage)


def consults(stage: Stage) -> bool:
    """Whether consultations may still be linked: not once deliberation has begun."""
    return stage in (Stage.PROPOSED, Stage.CONSULTATION)


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    AMENDED = "amended"
    DEFERRED = "deferred"


class Vote(StrEnum):
    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"
    ABSENT = "absent"
    RECUSED = "recused"


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: DisplayName
    seat: Line = ""


class DecisionFields(BaseModel):
    """A decision as an organizer proposes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    organisation_id: UUID = Field(description="the organisation answerable for it")
    region_id: UUID = Field(description="the region it affects, whose baseline participation is set against")
    title: DisplayName
    site: Line = ""
    description: Text = ""
    document_links: tuple[Link, ...] = Field(default=(), max_length=20)
    body: Body
    method: Method
    members: tuple[Member, ...] = Field(default=(), max_length=100)

    @model_validator(mode="after")
    def _body_fits_method(self) -> Self:
        if (self.body is Body.RESIDENT_BALLOT) != (self.method is Method.RESIDENT_BALLOT):
            raise ValueError("a resident ballot is both the body and the method, or neither")
        if self.method is not Method.RESIDENT_BALLOT and not self.members:
            raise ValueError("name the body's members: who decides")
        if self.method is Method.RESIDENT_BALLOT and self.members:
            raise ValueError("a resident ballot has no members: the residents decide")
        return self


EDITABLE = (Stage.PROPOSED, Stage.CONSULTATION, Stage.DELIBERATION)


class EditRefusal(StrEnum):
    """Why editing a decision's details is refused (each says what to do)."""

    DECIDED = "the outcome is recorded and the record is final: correct an entry of it instead"
    PANEL = "a competition is decided by its review panel: the body stays a review panel"
    REVIEWERS_FIXED = (
        "the panel's reviewers are fixed once an application is scored or a conflict declared: "
        "each score and conflict is a reviewer's by their place in the panel"
    )
    BALLOT_MEETING = "a resident ballot consults through its survey alone, and a meeting is linked"


def edit_refusal(
    stage: Stage,
    before: DecisionFields,
    after: DecisionFields,
    *,
    competition: bool,
    reviewed: bool,
    meetings: bool,
) -> tuple[str | None, EditRefusal] | None:
    """Why the details cannot go from ``before`` to ``after`` now (the field it is about), if
    they cannot. ``competition``: its places and criteria are set; ``reviewed``: an application
    was scored or a conflict declared; ``meetings``: a meeting is linked as a consultation.

    The members change freely before the outcome: votes are recorded only with it (store.record,
    in the transaction that makes the decision decided), so no vote can name a member's place
    before then. A review panel's scores and conflicts do, from the first one on."""
    if stage not in EDITABLE:
        return None, EditRefusal.DECIDED
    if competition and after.body is not Body.REVIEW_PANEL:
        return "body", EditRefusal.PANEL
    if reviewed and after.members != before.members:
        return "members", EditRefusal.REVIEWERS_FIXED
    if meetings and after.method is Method.RESIDENT_BALLOT:
        return "method", EditRefusal.BALLOT_MEETING
    return None


def details_changed(before: DecisionFields, after: DecisionFields) -> dict[str, dict[str, Any]]:
    """Each field an edit changes, with its value before and after (as JSON), in the fields'
    order: what the edit's ledger entry holds. The value before as well as after, so that the
    entry reads alone: what the public page said until then is in it, without replaying the
    created entry and every edit since (every value was public in an earlier entry already,
    and none names a participant)."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    changed = [name for name in DecisionFields.model_fields if old[name] != new[name]]
    return {name: {"from": old[name], "to": new[name]} for name in changed}


class AffectedGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    group: DisplayName
    benefits: Text = ""
    burdens: Text = ""


class Assessment(BaseModel):
    """The equity impact assessment: required before a decision can be recorded."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    who_pays: Required
    who_benefits: Required
    who_decides: Required
    groups: tuple[AffectedGroup, ...] = Field(min_length=1, max_length=30)
    mitigations: Text = ""
    narrative: LongText = ""


class ConsultationKind(StrEnum):
    SURVEY = "survey"
    MEETING = "meeting"


class ConsultationLink(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ConsultationKind
    target_id: UUID = Field(description="the survey's or the meeting's id")


class Closing(BaseModel):
    """Closing a consultation: its participation is counted then, beside what was heard."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    what_we_heard: LongText = Field(min_length=1)


class MemberVote(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    member: int = Field(ge=1, description="the member's position in the body, from 1")
    vote: Vote
    reason: Text = Field(default="", description="required when recused")

    @model_validator(mode="after")
    def _recusal_says_why(self) -> Self:
        if self.vote is Vote.RECUSED and not self.reason:
            raise ValueError("a recusal says why")
        return self


class InputUse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ConsultationKind
    target_id: UUID
    how_used: Required


class BallotChoice(BaseModel):
    """Which of a resident ballot's survey questions is the ballot, and which option approves."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    question: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    approves: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]


class Recording(BaseModel):
    """The outcome as recorded: every member's vote, the rationale, how each consultation's
    input was used. A resident ballot names its question instead of an outcome: the outcome is
    computed from the survey's tally (ballots.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    outcome: Outcome | None = Field(default=None, description="none for a resident ballot: computed")
    ballot: BallotChoice | None = Field(default=None, description="a resident ballot's question")
    votes: tuple[MemberVote, ...] = Field(default=(), max_length=100)
    rationale: Annotated[str, _text(8000, 1)]
    input_used: tuple[InputUse, ...] = Field(default=(), max_length=50)
    tie_break: tuple[UUID, ...] = Field(
        default=(),
        max_length=1000,
        description=(
            "a competition approved while weighted scores tie across its last designated place: "
            "the tied applications the panel's vote designates, as many as the places left to them"
        ),
    )


class Correction(BaseModel):
    """A correction of an entry of the decision's ledger: which one, why, and what is right."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    corrects: int = Field(ge=1, description="the sequence of the entry corrected, one of this decision's")
    why: Required = Field(description="what was wrong")
    correction: Annotated[str, _text(8000, 1)] = Field(description="what is right")


class Refusal(StrEnum):
    """Why recording an outcome is refused (each says what to do)."""

    NO_ASSESSMENT = "an equity impact assessment is required before a decision can be recorded"
    NOT_DELIBERATING = "an outcome is recorded once, at the end of deliberation"
    VOTES_NOT_ONE_PER_MEMBER = "record exactly one vote for each member of the body"
    VOTES_DISAGREE = "the votes do not carry this outcome under the decision's method"
    CONSULTATION_OPEN = "close every linked consultation (count its participation) first"
    INPUT_USE_MISSING = "say how each consultation's input was used, and only for linked ones"
    OUTCOME_MISSING = "choose the outcome"
    BALLOT_TYPED_IN = "a resident ballot's outcome is computed from its survey's tally, never typed in"
    BALLOT_CHOICE_MISSING = "name the ballot's question and the option that approves"
    NOT_A_BALLOT = "only a resident ballot is decided by a survey's question"
    BALLOT_ONE_SURVEY = "a resident ballot consults through exactly one survey"
    BALLOT_NOT_CLOSED = (
        "a resident ballot's result is computed from its survey's final tally, which surveys announces "
        "when the organizer closes the survey: close it there first"
    )
    COMPETITION_AMENDED = "a competition designates its ranking's top places, or no one: approve or reject"


def recording_refusal(
    method: Method,
    stage: Stage,
    members: int,
    assessed: bool,
    consultations: dict[tuple[ConsultationKind, UUID], bool],
    recording: Recording,
) -> Refusal | None:
    """Why ``recording`` cannot be recorded now, if it cannot. ``consultations`` maps each
    linked one to whether it is closed."""
    if stage is not Stage.DELIBERATION:
        return Refusal.NOT_DELIBERATING
    if not assessed:
        return Refusal.NO_ASSESSMENT
    ballot = method is Method.RESIDENT_BALLOT
    if ballot and recording.outcome is not None:
        return Refusal.BALLOT_TYPED_IN
    if ballot and recording.ballot is None:
        return Refusal.BALLOT_CHOICE_MISSING
    if not ballot and recording.ballot is not None:
        return Refusal.NOT_A_BALLOT
    if not ballot and recording.outcome is None:
        return Refusal.OUTCOME_MISSING
    if not all(consultations.values()):
        return Refusal.CONSULTATION_OPEN
    used = [(use.kind, use.target_id) for use in recording.input_used]
    if sorted(used) != sorted(consultations):
        return Refusal.INPUT_USE_MISSING
    if ballot and [kind for kind, _ in consultations] != [ConsultationKind.SURVEY]:
        return Refusal.BALLOT_ONE_SURVEY
    if sorted(vote.member for vote in recording.votes) != list(range(1, members + 1)):
        return Refusal.VOTES_NOT_ONE_PER_MEMBER
    if recording.outcome is not None and not carries(
        method, [vote.vote for vote in recording.votes], recording.outcome
    ):
        return Refusal.VOTES_DISAGREE
    return None


def carries(method: Method, votes: list[Vote], outcome: Outcome) -> bool:
    """Whether the votes carry the outcome. A majority approves (or amends) with more for than
    against among those who voted; a consensus with no one against and someone for. A rejection
    is any vote that does not approve; deferring is always open. An administrative decision is
    its official's, whatever is recorded as their vote."""
    if method is Method.ADMINISTRATIVE or outcome is Outcome.DEFERRED:
        return True
    ayes, noes = votes.count(Vote.FOR), votes.count(Vote.AGAINST)
    approves = ayes > noes if method is Method.MAJORITY else (noes == 0 and ayes > 0)
    return approves if outcome in (Outcome.APPROVED, Outcome.AMENDED) else not approves


class Decision(DecisionFields):
    model_config = ConfigDict(extra="ignore")
    id: UUID
    organisation_name: str
    region_name: str
    stage: Stage
    outcome: Outcome | None
    rationale: str
    is_demo: bool
    created_at: datetime
    updated_at: datetime


class DecisionList(BaseModel):
    items: list[Decision]
    page: int
    pages: int
