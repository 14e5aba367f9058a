"""A resident ballot's outcome, computed from its survey's final tally (``survey.closed``) and
never typed in. No I/O.

The organizer names the ballot's question (a single-choice question of the survey) and the
option that approves; the ballot approves when that option has more responses than all the
other options together (the "other" text counts against; a skipped question counts for
neither), and is rejected otherwise, a tie included. A tally taken while anonymous responses
were still waiting for their release is not final, and decides nothing."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.engagement.decisions.models import BallotChoice, Outcome

SKIPPED = "@skipped"


@dataclass(frozen=True)
class Count:
    option: str
    label: str
    responses: int


@dataclass(frozen=True)
class Tally:
    """A closed survey's counts as engagement keeps them: question -> (prompt, its counts)."""

    survey_id: UUID
    responses: int
    pending: int
    questions: dict[str, tuple[str, tuple[Count, ...]]]


class BallotRefused(ValueError):
    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.detail, self.field = detail, field


def ballot_result(tally: Tally, choice: BallotChoice) -> tuple[Outcome, dict[str, Any]]:
    """The outcome and what the ledger keeps of how it was computed; BallotRefused naming the
    field when the tally cannot decide it."""
    if tally.pending:
        raise BallotRefused(
            f"{tally.pending} anonymous responses were still waiting for their release when the survey "
            "closed: its tally is not final",
            "ballot",
        )
    if choice.question not in tally.questions:
        raise BallotRefused("not a single-choice question of the ballot's survey", "question")
    prompt, counts = tally.questions[choice.question]
    cast = [count for count in counts if count.option != SKIPPED]
    if choice.approves not in {count.option for count in cast}:
        raise BallotRefused("not an option of that question", "approves")
    ayes = sum(count.responses for count in cast if count.option == choice.approves)
    noes = sum(count.responses for count in cast if count.option != choice.approves)
    outcome = Outcome.APPROVED if ayes > noes else Outcome.REJECTED
    return outcome, {
        "survey_id": str(tally.survey_id),
        "question": choice.question,
        "prompt": prompt,
        "approves": choice.approves,
        "responses": tally.responses,
        "counts": [
            {"option": count.option, "label": count.label, "responses": count.responses} for count in counts
        ],
        "for": ayes,
        "against": noes,
    }
