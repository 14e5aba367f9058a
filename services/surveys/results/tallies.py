"""The increments one survey response makes to its per-question tallies, and the recount that a
stored, incrementally kept tally must always equal. No I/O.

A tally counts responses in cells: (question id, bucket), the bucket being what a result page
counts for that question:

- ``single_choice``: the option id chosen, or ``"@other"`` for the "other, please specify" text
- ``multiple_choice``: each option id chosen, and ``"@other"`` when the other text was given
- ``likert`` and ``rating``: the point as a string (``"4"``)
- ``ranking``: each option at its position, 1 the most preferred: ``"<option>@<rank>"``
- ``number``, ``date``, ``short_text``, ``long_text``: only ``"@answered"``; their values are
  listed or summarised elsewhere, not tallied
- any question shown to the respondent and left unanswered (missing or null): ``"@skipped"``

A question hidden by its condition (``visible_questions``) counts nothing, answered or not.

The bucket is a plain string, as result pages read it. The buckets that are not an option start
with ``@``, which an option id cannot hold, so an option its author called ``other`` (the
demographics' language at home has one) is never counted with the "other" text or a skip.

A response's increments are all +1 (a multiple choice may add several cells of one question, a
ranking adds one per option), so adding a response and subtracting it again (as an erasure does)
leaves a tally as it was, and a tally kept in any order of responses equals ``recount``.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from services.surveys.building.definition import (
    Likert,
    MultipleChoice,
    Question,
    Ranking,
    Rating,
    SingleChoice,
    SurveyDocument,
    visible_questions,
)

OTHER = "@other"
SKIPPED = "@skipped"
ANSWERED = "@answered"


class Cell(NamedTuple):
    """One counter of a survey's results: a question and a bucket of its answers."""

    question: str
    bucket: str


def ranked(option: str, rank: int) -> str:
    """A ranking's bucket: ``option`` at position ``rank`` (1 the most preferred)."""
    return f"{option}@{rank}"


def increments(document: SurveyDocument, answers: Mapping[str, object]) -> Counter[Cell]:
    """The cells one response adds 1 to. ``answers`` must be valid for ``document``
    (``check_answers`` found nothing): a malformed answer is not detected here and may be
    counted wrongly or raise."""
    counts: Counter[Cell] = Counter()
    for question in visible_questions(document, answers):
        answer = answers.get(question.id)
        if answer is None:
            counts[Cell(question.id, SKIPPED)] += 1
        else:
            counts.update(Cell(question.id, bucket) for bucket in _buckets(question, answer))
    return counts


def recount(document: SurveyDocument, responses: Iterable[Mapping[str, object]]) -> Counter[Cell]:
    """The tally of all ``responses`` (each valid), counted afresh: the sum of their increments."""
    total: Counter[Cell] = Counter()
    for answers in responses:
        total.update(increments(document, answers))
    return total


def _buckets(question: Question, answer: object) -> list[str]:
    """The buckets a (valid, non-null) answer to a shown ``question`` counts in."""
    if isinstance(question, SingleChoice | MultipleChoice):
        assert isinstance(answer, Mapping)
        buckets: list[str] = []
        choice = answer.get("choice")
        if isinstance(choice, str):
            buckets.append(choice)
        buckets.extend(answer.get("choices") or [])
        if answer.get("other") is not None:
            buckets.append(OTHER)
        return buckets
    if isinstance(question, Likert | Rating):
        assert isinstance(answer, int)
        return [str(answer)]
    if isinstance(question, Ranking):
        assert isinstance(answer, list)
        return [ranked(option, rank) for rank, option in enumerate(answer, start=1)]
    return [ANSWERED]
