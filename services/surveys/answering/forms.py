"""A survey page's form, without I/O: the fields of each question, the answers a posted form
gives, the form a saved answer shows as, and the message shown beside a refused answer.

Field names: ``<id>`` for the answer, ``<id>.other`` for an "other, please specify" text (its
choice is ``@other``), ``<id>.rank.<n>`` for the option put at place n of a ranking. Whatever
is typed is passed on as typed (``12a`` for a number stays a string), so that the survey's own
rules (definition.check_answers) refuse it and the page shows it again as it was."""

from collections.abc import Mapping, Sequence
from typing import Any

from multidict import MultiMapping

from services.surveys.building.definition import (
    OTHER_TEXT_MAX,
    RATING_MAX,
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
)
from shared.i18n import gettext_ as _

OTHER = "@other"
Typed = dict[str, str | list[str]]


def ranks(question: Ranking) -> range:
    return range(1, len(question.options) + 1)


def typed_of(questions: Sequence[Question], form: MultiMapping[Any]) -> Typed:
    """The page's fields as posted, text as typed."""
    typed: Typed = {}
    for question in questions:
        q = question.id
        if isinstance(question, MultipleChoice):
            typed[q] = [str(value) for value in form.getall(q, [])]
        elif isinstance(question, Ranking):
            typed.update({f"{q}.rank.{n}": str(form.get(f"{q}.rank.{n}", "")) for n in ranks(question)})
        else:
            typed[q] = str(form.get(q, ""))
        if isinstance(question, SingleChoice | MultipleChoice) and question.other is not None:
            typed[f"{q}.other"] = str(form.get(f"{q}.other", ""))
    return typed


def answers_of(questions: Sequence[Question], typed: Typed) -> dict[str, object]:
    """The answers the fields give; a question left blank has none."""
    answers: dict[str, object] = {}
    for question in questions:
        answer = _answer(question, typed)
        if answer is not None:
            answers[question.id] = answer
    return answers


def _text(typed: Typed, name: str) -> str:
    value = typed.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _answer(question: Question, typed: Typed) -> object:
    q = question.id
    if isinstance(question, SingleChoice):
        choice = _text(typed, q)
        if choice == OTHER:
            return {"other": _text(typed, f"{q}.other")}
        return {"choice": choice} if choice else None
    if isinstance(question, MultipleChoice):
        chosen = typed.get(q, [])
        assert isinstance(chosen, list)
        if not chosen:
            return None
        answer: dict[str, object] = {"choices": [choice for choice in chosen if choice != OTHER]}
        if OTHER in chosen:
            answer["other"] = _text(typed, f"{q}.other")
        return answer
    if isinstance(question, Ranking):
        order = [_text(typed, f"{q}.rank.{n}") for n in ranks(question)]
        return order if any(order) else None
    text = _text(typed, q)
    if not text:
        return None
    if isinstance(question, Likert | Rating | Number):
        return _number(text)
    if isinstance(question, ShortText | LongText):
        # Kept as typed, line breaks included; a NUL no keyboard types is dropped (jsonb refuses it).
        raw = typed.get(q, "")
        return str(raw).replace("\x00", "")
    return text


def _number(text: str) -> object:
    try:
        whole = int(text)
    except ValueError:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return text
    return whole


def typed_from(questions: Sequence[Question], answers: Mapping[str, object]) -> Typed:
    """Saved answers as the page's fields show them."""
    typed: Typed = {}
    for question in questions:
        q = question.id
        answer = answers.get(q)
        if isinstance(question, SingleChoice | MultipleChoice):
            chosen = answer if isinstance(answer, Mapping) else {}
            other = chosen.get("other")
            if isinstance(question, SingleChoice):
                typed[q] = OTHER if other is not None else str(chosen.get("choice") or "")
            else:
                typed[q] = [str(c) for c in chosen.get("choices") or []] + (
                    [OTHER] if other is not None else []
                )
            if question.other is not None:
                typed[f"{q}.other"] = str(other or "")
        elif isinstance(question, Ranking):
            order = answer if isinstance(answer, list) else []
            typed.update(
                {f"{q}.rank.{n}": str(order[n - 1]) if n <= len(order) else "" for n in ranks(question)}
            )
        else:
            typed[q] = "" if answer is None else str(answer)
    return typed


def message(question: Question, path: str, answered: bool) -> str:
    """What to tell the resident about a refused answer at ``path`` (the question's id, or
    ``<id>.other``), in the page's language."""
    if path.endswith(".other"):
        return _("Write your other answer, in up to %(max)s characters.") % {"max": OTHER_TEXT_MAX}
    if not answered:
        return _("Answer this question.")
    if isinstance(question, SingleChoice):
        return _("Choose one answer.")
    if isinstance(question, MultipleChoice):
        most = question.max or len(question.options) + (question.other is not None)
        return _("Choose from %(min)s to %(max)s answers.") % {"min": question.min, "max": most}
    if isinstance(question, Likert):
        return _("Choose one of the points.")
    if isinstance(question, Rating):
        return _("Choose a number from 0 to %(max)s.") % {"max": RATING_MAX}
    if isinstance(question, Ranking):
        return _("Give every option a place of its own.")
    if isinstance(question, Number):
        return _number_message(question)
    if isinstance(question, ShortText | LongText):
        return _("Write up to %(max)s characters.") % {"max": question.max_length}
    return _date_message(question)


def _number_message(question: Number) -> str:
    low, high = question.min, question.max
    if low is not None and high is not None:
        return _("Enter a number from %(min)s to %(max)s.") % {"min": f"{low:g}", "max": f"{high:g}"}
    if low is not None:
        return _("Enter a number of at least %(min)s.") % {"min": f"{low:g}"}
    if high is not None:
        return _("Enter a number of at most %(max)s.") % {"max": f"{high:g}"}
    return _("Enter a number.")


def _date_message(question: DateQuestion) -> str:
    low, high = question.earliest, question.latest
    if low is not None and high is not None:
        return _("Enter a date from %(earliest)s to %(latest)s.") % {
            "earliest": low.isoformat(),
            "latest": high.isoformat(),
        }
    return _("Enter a date as year-month-day, for example 2025-05-31.")


def field_id(path: str) -> str:
    """The HTML id of the field a problem's path names (its first input for a group)."""
    return "q-" + path.replace(".", "-")


def first_input(question: Question) -> str:
    """The id an error summary's link goes to: the question's first input."""
    q = field_id(question.id)
    if isinstance(question, SingleChoice | MultipleChoice):
        return f"{q}-{question.options[0].id}"
    if isinstance(question, Likert):
        return f"{q}-1"
    if isinstance(question, Rating):
        return f"{q}-0"
    if isinstance(question, Ranking):
        return f"{q}-rank-1"
    return q
