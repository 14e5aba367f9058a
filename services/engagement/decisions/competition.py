"""A competition's rules, without I/O: a review panel designates up to ``places`` of many
applicants. The panel's members score each application on weighted criteria (0 to 10 each); a
member who declared a conflict of interest with an application never scores it; the ranking is
by the weighted score, the mean over the members who scored (a member's newest sheet); the
panel's vote then designates the ranking's top places, or none, and says which of those tied
across the last place take the places left: no rule of the ranking does.

An application's weighted score is, over the criteria c with weights w(c) and each criterion's
mean score m(c) among the members who scored it::

    score = sum(w(c) * m(c)) / sum(w(c))           (0 to 10)

kept exact (a fraction) for ranking and ties; shown and recorded in hundredths, rounded half up."""

from collections.abc import Collection, Mapping, Sequence
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


def sheet_refusal(sheet: ScoreSheet, criteria: int, reviewers: int, conflicted: bool) -> str | None:
    """Why ``sheet`` cannot be taken, if it cannot. A reviewer who scored the application before
    may score it again (until the outcome is recorded: the stage says): their newest sheet is
    the one that counts, and each sheet stays in the ledger."""
    if sheet.reviewer > reviewers:
        return "no such member of the panel"
    if conflicted:
        return "this reviewer declared a conflict of interest with this application: they do not score it"
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
    tied_at_cut: bool = False  # its score ties across the last designated place

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


@dataclass(frozen=True)
class Tie:
    """Applications whose weighted scores tie across the last designated place, and how many of
    the places are left to them: the ranking cannot say which are designated; the panel's vote
    does. The applications are listed in the ranking's order (by community within the tie), an
    order to read them in, never to choose by."""

    applications: tuple[UUID, ...]
    places_left: int


def tie_at_cut(scores: Sequence[tuple[Fraction, UUID]], places: int) -> Tie | None:
    """The tie across the last of ``places``, if any, among ``scores`` (best first)."""
    if places >= len(scores) or scores[places - 1][0] != scores[places][0]:
        return None
    at = scores[places][0]
    above = sum(1 for score, _ in scores if score > at)
    return Tie(tuple(application for score, application in scores if score == at), places - above)


class NotRankable(ValueError):
    """The scores are not complete, or the cut falls inside a tie the vote has not broken."""


class TiedAtCut(NotRankable):
    """Designating needs the panel's vote to say which of the tied take the places left."""


class TieBreakRefused(ValueError):
    """The vote's tie-break names what the tie does not hold, or not as many as its places."""


def listed(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _places(n: int) -> str:
    return f"{n} place" if n == 1 else f"{n} places"


def ranking(
    weights: Sequence[int],
    applications: Sequence[tuple[UUID, str]],
    sheets: Mapping[UUID, Mapping[int, Mapping[int, int]]],
    expected: Mapping[UUID, int],
    places: int,
    *,
    tie_break: Collection[UUID] = (),
    designating: bool = True,
) -> list[Ranked]:
    """Every application ranked by weighted score, the top ``places`` designated. ``sheets`` is
    application -> reviewer -> criterion -> score; ``expected`` how many reviewers have no
    conflict with each application (each of them must have scored it). Equal scores share a
    rank. When a tie spans the last place, no rule of the ranking (the order of rows, the time
    received, the name) says which of the tied are designated: ``tie_break`` names those the
    panel's vote designates, as many as the places left to them, and without it designating is
    refused (TiedAtCut). Not ``designating`` (a rejection, a deferral): no one is, and a tie
    needs no breaking."""
    scored = []
    for application_id, community in applications:
        found = sheets.get(application_id, {})
        if len(found) != expected[application_id] or not found:
            raise NotRankable(
                f"{community}: scored by {len(found)} of its {expected[application_id]} reviewers"
            )
        scored.append((weighted_score(weights, list(found.values())), application_id, community, len(found)))
    scored.sort(key=lambda item: (-item[0], item[2], item[1]))
    tie = tie_at_cut([(score, application_id) for score, application_id, _, _ in scored], places)
    tied = frozenset(tie.applications if tie else ())
    chosen = frozenset(tie_break)
    if chosen and not designating:
        raise TieBreakRefused("a rejection or a deferral designates no one: there is no tie to break")
    if chosen and tie is None:
        raise TieBreakRefused("no tie at the last designated place: the ranking designates its top places")
    if designating and tie is not None:
        communities = listed([community for _, a, community, _ in scored if a in tied])
        if not chosen:
            raise TiedAtCut(
                f"{communities} tie at the last designated place ({_places(tie.places_left)} left to "
                "them): the panel's vote names which it designates (tie_break)"
            )
        if not chosen <= tied or len(chosen) != tie.places_left:
            raise TieBreakRefused(
                f"name as many of the tied as the places left to them ({tie.places_left}): {communities}"
            )
    ranked, rank = [], 0
    for index, (score, application_id, community, reviewers) in enumerate(scored):
        if index == 0 or score != scored[index - 1][0]:
            rank = index + 1
        if not designating:
            designated = False
        elif application_id in tied:
            designated = application_id in chosen
        else:
            designated = index < places
        ranked.append(
            Ranked(application_id, community, score, reviewers, rank, designated, application_id in tied)
        )
    return ranked
