"""A survey's title and description as the console's form shows them (one field of each per
language, ``title_<language>`` and ``description_<language>``) and the document they make,
without I/O. The document's rules (definition.py) decide what may be saved: their problems are
placed here beside the field that caused them."""

import copy
from collections.abc import Mapping, Sequence
from typing import Any

TEXTS = ("title", "description")


def texts_form(document: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields as the document has them (empty where a language has no text)."""
    return {
        f"{name}_{language}": (document.get(name) or {}).get(language, "")
        for name in TEXTS
        for language in document["languages"]
    }


def with_texts(document: Mapping[str, Any], typed: Mapping[str, str]) -> dict[str, Any]:
    """A copy of the document with the typed title and description: an empty field is no text in
    that language (the main language's stands in for it), and no description at all when every
    one is empty."""
    changed = copy.deepcopy(dict(document))
    for name in TEXTS:
        text = {
            language: typed.get(f"{name}_{language}", "").strip()
            for language in document["languages"]
            if typed.get(f"{name}_{language}", "").strip()
        }
        if text or name == "title":
            changed[name] = text  # an empty title is refused by the rules, beside its field
        else:
            changed.pop(name, None)
    return changed


def missing_main(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The rules' problem with a title, or a description, that lacks the main language, as they
    say it (definition.py). They check it only once every text passed its own checks, so this
    lets a form show it together with a text too long in another language."""
    main = document["main_language"]
    return [
        (name, f"needs the main language {main}")
        for name in TEXTS
        if (name == "title" or document.get(name)) and main not in (document.get(name) or {})
    ]


def texts_beside(
    errors: Sequence[tuple[str, str]], main: str
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The rules' problems under the form field that caused them (``title`` or ``description``
    alone is the main language's, the one a text must have), and apart those of no field of
    this form."""
    beside: dict[str, str] = {}
    elsewhere: list[tuple[str, str]] = []
    for path, message in errors:
        name, _, language = path.partition(".")
        if name in TEXTS and "." not in language:
            beside.setdefault(f"{name}_{language or main}", message)
        else:
            elsewhere.append((path, message))
    return beside, elsewhere
