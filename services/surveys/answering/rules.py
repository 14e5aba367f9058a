"""What a response says beside its answers, and what the answering pages choose. No I/O.

The answers to the standard demographics section (question ids are ``shared.demographics``
dimensions, option ids their bands) travel in ``response.submitted``; the ZIP code places the
response in a region. A text with a NUL character is refused: PostgreSQL's jsonb cannot hold it."""

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence

from services.surveys.building.definition import POSTAL_CODE, SurveyDocument, check_answers
from shared.demographics import Dimension

POSTAL_CODE_MAX = 10  # as response.submitted and the responses table keep it
SLUG = re.compile(r"^[a-z0-9-]{4,80}$")  # as the surveys table allows it
TOKEN = r"^[A-Za-z0-9_-]{32,128}$"  # noqa: S105 (a pattern, not a secret)  as invitation.issued's link carries it
_DIMENSIONS = frozenset(dimension.value for dimension in Dimension)


def demographics_of(answers: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    """dimension -> the bands chosen, for the demographics questions answered (an "other" text is
    no band and is left out)."""
    found: dict[str, tuple[str, ...]] = {}
    for question, answer in answers.items():
        if question not in _DIMENSIONS or not isinstance(answer, Mapping):
            continue
        choice = answer.get("choice")
        bands = (choice,) if isinstance(choice, str) else tuple(answer.get("choices") or ())
        if bands:
            found[question] = bands
    return found


def postal_code_of(answers: Mapping[str, object]) -> str | None:
    answer = answers.get(POSTAL_CODE)
    if not isinstance(answer, str) or not answer.strip() or len(answer.strip()) > POSTAL_CODE_MAX:
        return None
    return answer.strip()


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _strings(value)


def answer_problems(document: SurveyDocument, answers: Mapping[str, object]) -> dict[str, str]:
    """``check_answers``, and a NUL character anywhere refused at its question."""
    problems = check_answers(document, answers)
    for question, answer in answers.items():
        if any("\x00" in text for text in _strings(answer)):
            problems.setdefault(question, "holds a NUL character, which cannot be stored")
    return problems


def survey_language(wanted: Sequence[str | None], document: SurveyDocument) -> str:
    """The first of ``wanted`` the survey is written in, else its main language."""
    return next((language for language in wanted if language in document.languages), document.main_language)


def invitation_hash(token: str | None) -> bytes | None:
    """The hash an invitation is kept by, for a token of the form links carry; else None."""
    if token is None or not re.match(TOKEN, token):
        return None
    return hashlib.sha256(token.encode()).digest()  # as invitations are issued
