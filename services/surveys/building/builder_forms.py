"""The builder's forms and the document they change, without I/O: a question as its form shows
it and back (prompts per language, options one per line, the nth line of each language the same
option), the document with a question added, changed, moved or deleted, and each of
``document_errors``' problems placed beside the form field that caused it."""

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

QUESTION_TYPES = (
    "single_choice",
    "multiple_choice",
    "likert",
    "rating",
    "ranking",
    "number",
    "short_text",
    "long_text",
    "date",
)
CHOICES = ("single_choice", "multiple_choice", "ranking")
LISTS = ("options", "labels")  # typed one per line
TEXTS = ("prompt", "other", "unit")  # typed once per language
NUMBERS = ("min", "max", "points", "max_length")
OTHER_LABEL = {"en": "Other, please specify", "es": "Otra, especifique"}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _number(text: str) -> int | float | str:
    """The number typed, or the text as typed (refused then beside its field)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def option_id(label: str, taken: set[str]) -> str:
    """An option id from its label: ``Yes, often`` -> ``yes_often``, unique among ``taken``."""
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:36] or "option"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def question_from_form(
    form: Mapping[str, str], kind: str, languages: Sequence[str], main: str, before: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The question the form describes; ``before`` is the question it edits (its option ids are
    kept by position, so answers keep their meaning)."""

    def written(prefix: str) -> dict[str, str]:
        typed = {language: form.get(f"{prefix}_{language}", "").strip() for language in languages}
        return {language: text for language, text in typed.items() if text}

    def listed(prefix: str) -> list[dict[str, str]]:
        lines = {language: _lines(form.get(f"{prefix}_{language}", "")) for language in languages}
        return [
            {language: lines[language][n] for language in languages if n < len(lines[language])}
            for n in range(len(lines[main]))
        ]

    question: dict[str, Any] = {"id": form.get("id", "").strip(), "type": kind, "prompt": written("prompt")}
    if form.get("required"):
        question["required"] = True
    if kind in CHOICES:
        old_ids = [option["id"] for option in (before or {}).get("options", [])]
        taken: set[str] = set()
        options = []
        for n, label in enumerate(listed("options")):
            keep = old_ids[n] if n < len(old_ids) and old_ids[n] not in taken else None
            if keep is not None:
                taken.add(keep)
            options.append({"id": keep or option_id(label.get(main, ""), taken), "label": label})
        question["options"] = options
    if kind in ("single_choice", "multiple_choice") and form.get("offers_other"):
        other = written("other")
        question["other"] = other or {
            language: OTHER_LABEL[language] for language in languages if language in OTHER_LABEL
        }
    if kind == "likert":
        question["points"] = _number(form.get("points", "5"))
        question["labels"] = listed("labels")
    if kind == "number" and written("unit"):
        question["unit"] = written("unit")
    for name, kinds in (("min", ("multiple_choice", "number")), ("max", ("multiple_choice", "number"))):
        if kind in kinds and form.get(name, "").strip():
            question[name] = _number(form[name].strip())
    if kind in ("short_text", "long_text") and form.get("max_length", "").strip():
        question["max_length"] = _number(form["max_length"].strip())
    condition = _condition(form)
    if condition is not None:
        question["show_if"] = condition
    return question


def _condition(form: Mapping[str, str]) -> dict[str, Any] | None:
    on = form.get("show_if_question", "").strip()
    if not on:
        return None
    kind, value = form.get("show_if_kind", "answered"), form.get("show_if_value", "").strip()
    if kind == "equals":
        number = _number(value)
        return {"kind": "equals", "question": on, "value": number if isinstance(number, int) else value}
    if kind == "any_of":
        return {
            "kind": "any_of",
            "question": on,
            "options": [v.strip() for v in value.split(",") if v.strip()],
        }
    return {"kind": "answered", "question": on}


def form_from_question(question: Mapping[str, Any], languages: Sequence[str]) -> dict[str, str]:
    """The form of a saved question, as the builder shows it to edit."""
    form: dict[str, str] = {"id": question["id"], "required": "on" if question.get("required") else ""}
    for prefix in TEXTS:
        for language in languages:
            form[f"{prefix}_{language}"] = (question.get(prefix) or {}).get(language, "")
    for prefix in LISTS:
        for language in languages:
            items = question.get(prefix, [])
            labels = [item.get("label", item) if prefix == "options" else item for item in items]
            form[f"{prefix}_{language}"] = "\n".join(label.get(language, "") for label in labels)
    form["offers_other"] = "on" if question.get("other") else ""
    for name in NUMBERS:
        form[name] = "" if question.get(name) is None else str(question[name])
    condition = question.get("show_if") or {}
    form["show_if_question"] = condition.get("question", "")
    form["show_if_kind"] = condition.get("kind", "answered")
    value = condition.get("options") if condition.get("kind") == "any_of" else condition.get("value", "")
    form["show_if_value"] = ", ".join(value) if isinstance(value, list) else str(value)
    return form


def place(document: Mapping[str, Any], question_id: str) -> tuple[int, int] | None:
    """(section, position) of a question."""
    for s, section in enumerate(document["sections"]):
        for q, question in enumerate(section["questions"]):
            if question["id"] == question_id:
                return s, q
    return None


def with_question(
    document: Mapping[str, Any],
    section: int,
    position: int | None,
    question: Mapping[str, Any],
    replace: bool,
) -> dict[str, Any]:
    """A copy with ``question`` at ``position`` of ``section`` (None: last), replacing the one
    there when ``replace``."""
    changed = copy.deepcopy(dict(document))
    questions = changed["sections"][section]["questions"]
    at = len(questions) if position is None else position
    questions[at : at + (1 if replace else 0)] = [dict(question)]
    return changed


def without_question(document: Mapping[str, Any], question_id: str) -> dict[str, Any]:
    changed = copy.deepcopy(dict(document))
    found = place(changed, question_id)
    if found is not None:
        del changed["sections"][found[0]]["questions"][found[1]]
    return changed


def moved(document: Mapping[str, Any], question_id: str, step: int) -> dict[str, Any]:
    """A copy with the question one place up (-1) or down (+1), into the next section at its
    edge (the builder's way of moving a question between pages)."""
    changed = copy.deepcopy(dict(document))
    found = place(changed, question_id)
    if found is None:
        return changed
    s, q = found
    sections = changed["sections"]
    questions = sections[s]["questions"]
    target = q + step
    if 0 <= target < len(questions):
        questions[q], questions[target] = questions[target], questions[q]
    elif 0 <= s + step < len(sections):
        question = questions.pop(q)
        neighbour = sections[s + step]["questions"]
        if step < 0:
            neighbour.append(question)
        else:
            neighbour.insert(0, question)
    return changed


def errors_beside(
    errors: Sequence[tuple[str, str]], section: int, position: int, main: str
) -> dict[str, str]:
    """Each problem under the form field that caused it; those of no field of this question's
    form under ``form``, with their path."""
    prefix = f"sections.{section}.questions.{position}"
    beside: dict[str, str] = {}
    for path, message in errors:
        if path != prefix and not path.startswith(prefix + "."):
            beside.setdefault("form", f"{path}: {message}")
            continue
        parts = path[len(prefix) + 1 :].split(".") if path != prefix else []
        beside.setdefault(_field(parts, main), message)
    return beside


def _field(parts: list[str], main: str) -> str:
    if not parts:
        return "form"
    first = parts[0]
    if first in TEXTS or first in LISTS:
        language = (
            parts[-1]
            if len(parts) > 1 and not parts[-1].isdigit() and parts[-1] not in ("label", "id")
            else main
        )
        return f"{first}_{language}"
    if first == "show_if":
        return (
            "show_if_value"
            if parts[-1] in ("value", "options") or parts[-1].isdigit()
            else "show_if_question"
        )
    return first
