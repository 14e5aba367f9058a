"""The canonical JSON of a ledger entry: the exact bytes its hash covers (README, "Decisions and
the ledger"). A subset of RFC 8785 (JSON Canonicalization Scheme) that every language's JSON
library can meet without a number formatter of its own:

- values are null, true, false, integers, strings, arrays and objects; no floats (a ballot's
  share is written as two integers), integers within +-(2**53 - 1) so JavaScript reads them;
- object member names are ASCII letters, digits and underscores, sorted by byte (for these
  names the same order as RFC 8785's UTF-16 order), each once;
- no whitespace between tokens;
- strings as RFC 8785 writes them: ``"`` and ``\\`` escaped with a backslash, U+0008, U+0009,
  U+000A, U+000C, U+000D as ``\\b \\t \\n \\f \\r``, the other controls below U+0020 as
  ``\\u00xx`` (lower-case hex), everything else as itself, in UTF-8 (a lone surrogate has no
  UTF-8 and is refused).

Python's json module writes exactly this for such values with ``ensure_ascii=False``,
``separators=(",", ":")`` and ``sort_keys=True``; :func:`canonical` checks the values first."""

import json
import re
from typing import Any

MAX_INTEGER = 2**53 - 1
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class NotCanonical(ValueError):
    """A value the canonical form has no bytes for."""


def canonical(value: Any) -> bytes:
    _check(value, "$")
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NotCanonical(f"a string holds a lone surrogate (U+{ord(exc.object[exc.start]):04X})") from exc


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise NotCanonical(f"{path}: integer beyond +-(2**53 - 1)")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str) or not _NAME.match(name):
                raise NotCanonical(f"{path}: member name {name!r} is not ASCII letters, digits, underscores")
            _check(item, f"{path}.{name}")
        return
    raise NotCanonical(f"{path}: {type(value).__name__} has no canonical form (no floats)")


def parse(line: bytes) -> Any:
    """A line of an export as JSON, refusing what the canonical form never holds (floats, NaN,
    a member twice), so that a line read back and written again is the same bytes only when it
    was canonical."""
    return json.loads(
        line.decode("utf-8"), parse_float=_refuse, parse_constant=_refuse, object_pairs_hook=_once
    )


def _refuse(text: str) -> Any:
    raise NotCanonical(f"{text} is not an integer")


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise NotCanonical("an object names a member twice")
    return found
