"""The ledger's entries, their hash chain and its verification. No I/O.

An entry is a JSON object of exactly these members::

    {"at": "2025-03-04T17:05:09.123456Z", "corrects": null, "decision_id": "<uuid>",
     "hash": "<64 hex>", "kind": "created", "payload": {...}, "prev_hash": "<64 hex>",
     "role": "organizer:<uuid>", "sequence": 1, "who": {"account_id": "<uuid>", "name": "Ada"}}

Its hash is the lower-case hex SHA-256 of the canonical form (canonical.py) of the entry
without its ``hash`` member; ``prev_hash`` is the hash of the entry before (for the first, 64
zeros), so each hash covers the previous one and the whole chain before it. An export is the
entries in sequence order, one canonical entry (with its hash) per line, each line ending in
``\\n``. Participants never appear in an entry: only counts and the ids of surveys, meetings
and decisions, so erasing a person leaves the chain as it was."""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.engagement.decisions.canonical import NotCanonical, canonical, parse

GENESIS = "0" * 64
AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # always six digits of microseconds, always UTC


class Kind(StrEnum):
    CREATED = "created"
    DETAILS_EDITED = "details_edited"
    STAGE_CHANGED = "stage_changed"
    CONSULTATION_LINKED = "consultation_linked"
    PARTICIPATION_COUNTED = "participation_counted"
    ASSESSMENT_WRITTEN = "assessment_written"
    COMPETITION_SET = "competition_set"
    APPLICATION_RECEIVED = "application_received"
    CONFLICT_DECLARED = "conflict_declared"
    REVIEW_SCORED = "review_scored"
    VOTE_RECORDED = "vote_recorded"
    OUTCOME_RECORDED = "outcome_recorded"
    CORRECTION = "correction"


@dataclass(frozen=True)
class Author:
    """Who wrote an entry: an account (its id and its name as shown then) in a role, or the
    operator (no account: the demo loader, a command line)."""

    account_id: UUID | None
    name: str
    role: str


@dataclass(frozen=True)
class Step:
    """What a writer asks the ledger to record; the ledger adds sequence, time and hashes."""

    decision_id: UUID
    kind: Kind
    payload: Mapping[str, Any]
    corrects: int | None = None


def at_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime(AT_FORMAT)


def unsigned(step: Step, author: Author, *, sequence: int, at: datetime, prev_hash: str) -> dict[str, Any]:
    """The entry without its hash, as its hash covers it."""
    return {
        "at": at_text(at),
        "corrects": step.corrects,
        "decision_id": str(step.decision_id),
        "kind": step.kind.value,
        "payload": dict(step.payload),
        "prev_hash": prev_hash,
        "role": author.role,
        "sequence": sequence,
        "who": {
            "account_id": None if author.account_id is None else str(author.account_id),
            "name": author.name,
        },
    }


def hash_of(entry: Mapping[str, Any]) -> str:
    """The hash of an entry (its own ``hash`` member, if any, left out)."""
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def signed(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {**entry, "hash": hash_of(entry)}


def line_of(entry: Mapping[str, Any]) -> bytes:
    """An entry as a line of the export."""
    return canonical(dict(entry)) + b"\n"


@dataclass(frozen=True)
class Verdict:
    """A chain's verification: how many entries were good before the first bad one (if any),
    the head's hash, and what is wrong with the first bad one (its sequence or line, 1-based)."""

    entries: int
    head: str
    bad_at: int | None = None
    problem: str = ""

    @property
    def verifies(self) -> bool:
        return self.bad_at is None


_MEMBERS = frozenset(
    {"at", "corrects", "decision_id", "hash", "kind", "payload", "prev_hash", "role", "sequence", "who"}
)
_KINDS = frozenset(kind.value for kind in Kind)


def _problem(entry: Any, position: int, prev_hash: str) -> str | None:
    """What is wrong with the entry at ``position`` (1-based) after one of hash ``prev_hash``."""
    if not isinstance(entry, dict) or set(entry) != _MEMBERS:
        return "not an entry: the members must be exactly " + ", ".join(sorted(_MEMBERS))
    who = entry["who"]
    checks = (
        (type(entry["sequence"]) is int and entry["sequence"] == position, f"sequence should be {position}"),
        (entry["prev_hash"] == prev_hash, "prev_hash is not the previous entry's hash"),
        (entry["kind"] in _KINDS, "unknown kind"),
        (isinstance(entry["payload"], dict), "payload is not an object"),
        (isinstance(entry["role"], str) and entry["role"] != "", "role is not a text"),
        (_is_uuid(entry["decision_id"]), "decision_id is not a UUID"),
        (_is_at(entry["at"]), f"at is not a time written {AT_FORMAT}"),
        (
            isinstance(who, dict)
            and set(who) == {"account_id", "name"}
            and (who["account_id"] is None or _is_uuid(who["account_id"]))
            and isinstance(who["name"], str),
            "who is not {account_id, name}",
        ),
        (_corrects_ok(entry, position), "corrects must name an earlier entry, for a correction only"),
    )
    for ok, problem in checks:
        if not ok:
            return problem
    if entry["hash"] != hash_of(entry):
        return "hash does not match the entry"
    return None


def _corrects_ok(entry: Mapping[str, Any], position: int) -> bool:
    corrects = entry["corrects"]
    if entry["kind"] != Kind.CORRECTION.value:
        return corrects is None
    return type(corrects) is int and 1 <= corrects < position


def _is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(UUID(value)) == value
    except ValueError:
        return False


def _is_at(value: Any) -> bool:
    try:
        return (
            isinstance(value, str)
            and at_text(datetime.strptime(value, AT_FORMAT).replace(tzinfo=UTC)) == value
        )
    except ValueError:
        return False


def verify(entries: Iterable[Any]) -> Verdict:
    """The first bad entry of a chain read in sequence order, if any."""
    head, count = GENESIS, 0
    for position, entry in enumerate(entries, start=1):
        try:
            problem = entry.why if isinstance(entry, _Unreadable) else _problem(entry, position, head)
        except NotCanonical as exc:
            problem = f"no canonical form: {exc}"
        if problem is not None:
            return Verdict(count, head, position, problem)
        head, count = entry["hash"], position
    return Verdict(count, head)


def verify_export(data: bytes) -> Verdict:
    """The first bad line of an export: not canonical JSON (a byte changed anywhere shows here,
    or in a hash), or a bad entry."""
    return verify(_read(line) for line in lines_of(data))


def lines_of(data: bytes) -> list[bytes]:
    """The lines of an export, each with its newline (the last may lack one: it is then bad)."""
    *whole, last = data.split(b"\n")
    return [line + b"\n" for line in whole] + ([last] if last else [])


class _Unreadable:
    """A line that is not an entry, carried to verify() so it reports the line by its place."""

    def __init__(self, why: str) -> None:
        self.why = why


def _read(line: bytes) -> Any:
    if not line.endswith(b"\n"):
        return _Unreadable("the line does not end in a newline")
    try:
        entry = parse(line[:-1])
        if line_of(entry) != line:
            return _Unreadable("the line is not the entry's canonical form")
    except (UnicodeDecodeError, ValueError) as exc:  # NotCanonical and JSON errors are ValueErrors
        return _Unreadable(f"not canonical JSON: {exc}")
    return entry
