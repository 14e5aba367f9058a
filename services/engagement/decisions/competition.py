"""A competition's rules, without I/O: a review panel designates up to ``places`` of many
applicants. The panel's members score each application on weighted criteria (0 to 10 each); a
member who declared a conflict of interest with an application never scores it; the ranking is
by the weighted score, the mean over the members who scored; the panel's vote then designates
the ranking's top places, or none.

An application's weighted score is, over the criteria c with weights w(c) and each criterion's
mean score m(c) among the members who scored it::

    score = sum(w(c) * m(c)) / sum(w(c))           (0 to 10)

kept exact (a fraction) for ranking and ties; shown and recorded in hundredths, rounded half up."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.engagement.accounts.models import DisplayName
from services.engagement.decisions.models import Link, Required, Text

MAX_SCORE = 10


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: DisplayName
    description: Text = ""
    weight: int = Field(ge=1, le=100, description="its share of the score, against the others' weights")


class CompetitionFields(BaseModel):
    """What the panel designates and by what: set before the first score, then fixed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    places: int = Field(ge=1, le=1000, description="how many applicants are designated at most")
    criteria: tuple[Criterion, ...] = Field(min_length=1, max_length=20)


class ApplicationFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    community: DisplayName = Field(description="the community applying, as it names itself")
    lead: DisplayName = Field(description="the organisation leading the application")
    summary: Text = ""
    document_links: tuple[Link, ...] = Field(default=(), max_length=20)
    contact_person_id: UUID | None = Field(
        default=None, description="a registered person told the outcome (on their consent)"
    )


class Conflict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reviewer: int = Field(ge=1, description="the member's position in the panel, from 1")
    reason: Required = Field(description="why they do not score it")


class CriterionScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    criterion: int = Field(ge=1, description="the criterion's position, from 1")
    score: int = Field(ge=0, le=MAX_SCORE)


class ScoreSheet(BaseModel):
    """One reviewer's scores of one application, a score for every criterion."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    reviewer: int = Field(ge=1, description="the member's position in the panel, from 1")
    scores: tuple[CriterionScore, ...] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _each_criterion_once(self) -> Self:
        criteria = [score.criterion for score in self.scores]
        if len(set(criteria)) != len(criteria):
            raise ValueError("score each criterion once")
        return self


def sheet_refusal(
    sheet: ScoreSheet, criteria: int, reviewers: int, conflicted: bool, scored: bool
) -> str | None:
    """Why ``sheet`` cannot be taken, if it cannot."""
    if sheet.reviewer > reviewers:
        return "no such member of the panel"
    if conflicted:
        return "this reviewer declared a conflict of interest with this application: they do not score it"
    if scored:
        return "this reviewer has scored this application already"
    if sorted(score.criterion for score in sheet.scores) != list(range(1, criteria + 1)):
        return "score every criterion of the competition, once each"
    return None


@dataclass(frozen=True)
class Ranked:
    application_id: UUID
    community: str
    score: Fraction
    reviewers: int  # how many scored it
    rank: int
    designated: bool

    @property
    def hundredths(self) -> int:
        return hundredths(self.score)


def hundredths(score: Fraction) -> int:
    """A score in hundredths, rounded half up (the ledger's canonical form has no fractions)."""
    return int(score * 100 + Fraction(1, 2))


def weighted_score(weights: Sequence[int], sheets: Sequence[Mapping[int, int]]) -> Fraction:
    """The score of an application from its reviewers' sheets (criterion position -> score)."""
    total = sum(weights)
    return (
        sum(
            (
                Fraction(weight * sum(sheet[position] for sheet in sheets), len(sheets))
                for position, weight in enumerate(weights, start=1)
            ),
            Fraction(0),
        )
        / total
    )


class NotRankable(ValueError):
    """The scores are not complete, or the cut falls inside a tie: say which."""


def ranking(
    weights: Sequence[int],
    applications: Sequence[tuple[UUID, str]],
    sheets: Mapping[UUID, Mapping[int, Mapping[int, int]]],
    expected: Mapping[UUID, int],
    places: int,
) -> list[Ranked]:
    """Every application ranked by weighted score, the top ``places`` designated. ``sheets`` is
    application -> reviewer -> criterion -> score; ``expected`` how many reviewers have no
    conflict with each application (each of them must have scored it). Equal scores share a
    rank; a tie across the last place is refused (the panel breaks it, not the order of rows)."""
    scored = []
    for application_id, community in applications:
        found = sheets.get(application_id, {})
        if len(found) != expected[application_id] or not found:
            raise NotRankable(
                f"{community}: scored by {len(found)} of its {expected[application_id]} reviewers"
            )
        scored.append((weighted_score(weights, list(found.values())), application_id, community, len(found)))
    scored.sort(key=lambda item: (-item[0], item[2], item[1]))
    if places < len(scored) and scored[places - 1][0] == scored[places][0]:
        raise NotRankable(f"{scored[places - 1][2]} and {scored[places][2]} tie at the last designated place")
    ranked, rank = [], 0
    for index, (score, application_id, community, reviewers) in enumerate(scored):
        if index == 0 or score != scored[index - 1][0]:
            rank = index + 1
        ranked.append(Ranked(application_id, community, score, reviewers, rank, index < places))
    return ranked
