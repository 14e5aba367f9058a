"""The rules of changing a survey, without I/O: what an edit of its document does in each phase,
which lifecycle steps are allowed, which survey may be deleted, and the question ids that must
keep their meaning."""

from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from typing import Any

from services.surveys.building.lifecycle import Phase


class Edit(Enum):
    REPLACE = "replace"  # a draft: its only version is rewritten, nobody has answered it
    NEW_VERSION = "new_version"  # open or scheduled: responses keep the version they answered
    REFUSED = "refused"  # closed: its responses are final


def edit_in(phase: Phase) -> Edit:
    if phase is Phase.DRAFT:
        return Edit.REPLACE
    if phase is Phase.CLOSED:
        return Edit.REFUSED
    return Edit.NEW_VERSION


class Step(Enum):
    OPEN = "open"
    CLOSE = "close"


def status_after(status: str, step: Step) -> str | None:
    """The status a step leads to, or None when it is not allowed from ``status``: draft ->
    open -> closed, never back. An open survey whose closes_at has passed may still be closed by
    hand, so its status agrees with its phase."""
    if step is Step.OPEN:
        return "open" if status == "draft" else None
    return "closed" if status == "open" else None


def deletable(status: str) -> bool:
    """Only a draft may be deleted: it was never opened (status never goes back to draft), so
    nobody answered it or was invited to it. An opened survey keeps its responses for good."""
    return status == "draft"


def question_types(document: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(field path, question id, type) of every question of a parsed-valid document."""
    for s, section in enumerate(document["sections"]):
        for q, question in enumerate(section["questions"]):
            yield f"sections.{s}.questions.{q}", question["id"], question["type"]


def retyped_questions(
    earlier: Iterable[Mapping[str, Any]], document: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(field path, message) for each question of ``document`` whose id an earlier version gave
    to a question of another type: answers to it would no longer mean one thing."""
    before: dict[str, str] = {}
    for version in earlier:
        for _, question_id, kind in question_types(version):
            before.setdefault(question_id, kind)
    return [
        (f"{path}.type", f"{question_id} was a {before[question_id]} question: give a new question a new id")
        for path, question_id, kind in question_types(document)
        if before.get(question_id, kind) != kind
    ]
