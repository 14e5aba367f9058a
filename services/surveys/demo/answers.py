"""Plausible answers for the demo's responses: every answer valid for its document, drawn from a
seeded generator so that the demo is the same on every load. No I/O.

The demographics answers lean away from the population on purpose (renters, Spanish speakers
and the lowest incomes answer less often than they live there, as they do in many real surveys),
so that the results pages have under-represented groups to name."""

import random
from collections.abc import Sequence

from services.surveys.building.definition import (
    DateQuestion,
    Likert,
    LongText,
    MultipleChoice,
    Number,
    Question,
    Ranking,
    Rating,
    ShortText,
    SingleChoice,
    SurveyDocument,
    visible_questions,
)
from shared.demographics import Dimension

# Relative weights of a demographics answer's bands; a band not named weighs 1.
_LEANING: dict[str, dict[str, float]] = {
    Dimension.TENURE.value: {"owner": 3.0, "renter": 1.0},
    Dimension.LANGUAGE_AT_HOME.value: {"english_only": 5.0, "spanish": 0.6},
    Dimension.HOUSEHOLD_INCOME.value: {"under_25000": 0.3, "25000_49999": 0.7},
    Dimension.AGE.value: {"under_18": 0.1, "18_24": 0.4, "65_plus": 1.6},
}
_SKIPPED = 0.08  # an optional question left unanswered
_TEXTS = (
    "A steady job close to home, with training.",
    "Un trabajo estable cerca de casa.",
    "Machining, if someone would teach me.",
    "Running my own food business.",
    "Something I can do while my kids are at school.",
    "Trabajar en robótica.",
)


def answers(document: SurveyDocument, rng: random.Random, postal_code: str | None) -> dict[str, object]:
    """One response's answers: each question shown (given the answers so far) answered or,
    when optional, sometimes skipped. ``postal_code`` answers the demographics' ZIP question."""
    given: dict[str, object] = {}
    for _, question in document.questions():
        if question not in visible_questions(document, given):
            continue
        if question.id == "postal_code":
            if postal_code is not None:
                given[question.id] = postal_code
            continue
        if not question.required and rng.random() < _SKIPPED:
            continue
        given[question.id] = _answer(question, rng)
    return given


def _answer(question: Question, rng: random.Random) -> object:
    if isinstance(question, SingleChoice):
        if question.other is not None and rng.random() < 0.05:
            return {"other": rng.choice(_TEXTS)}
        return {"choice": _weighted(question.id, [o.id for o in question.options], rng)}
    if isinstance(question, MultipleChoice):
        ids = [o.id for o in question.options]
        most = min(question.max or len(ids), len(ids))
        # Most people choose one or two: a few more only now and then.
        count = min(most, question.min + (rng.random() < 0.3) + (rng.random() < 0.1))
        chosen: list[str] = []
        while len(chosen) < count:
            pick = _weighted(question.id, [i for i in ids if i not in chosen], rng)
            chosen.append(pick)
        return {"choices": chosen}
    if isinstance(question, Likert):
        return min(question.points, max(1, round(rng.gauss(question.points * 0.6, 1.2))))
    if isinstance(question, Rating):
        return min(10, max(0, round(rng.gauss(6.5, 2.2))))
    if isinstance(question, Ranking):
        order = [o.id for o in question.options]
        rng.shuffle(order)
        return order
    if isinstance(question, Number):
        low = question.min if question.min is not None else 0
        high = question.max if question.max is not None else 100
        return round(min(high, max(low, rng.gauss(low + (high - low) * 0.15, (high - low) * 0.1))))
    if isinstance(question, ShortText | LongText):
        return rng.choice(_TEXTS)[: question.max_length]
    assert isinstance(question, DateQuestion)
    if question.earliest is None or question.latest is None:
        return "2027-02-01"
    span = (question.latest - question.earliest).days
    return (question.earliest.fromordinal(question.earliest.toordinal() + rng.randint(0, span))).isoformat()


def _weighted(question_id: str, ids: Sequence[str], rng: random.Random) -> str:
    weights = _LEANING.get(question_id, {})
    return rng.choices(list(ids), weights=[weights.get(i, 1.0) for i in ids])[0]
