"""Importing people from a CSV file: the rules, without I/O (``import_store`` writes them).

The file is UTF-8 (a byte-order mark is allowed), comma-separated, its first row a header
naming the columns, in any order, case-blind:

    name, email, phone, preferred_language, zip, region, role, tags

``name`` is required, the others may be left out; a column not in this list is an error naming
it. Each value is checked by the rules a registration is checked by (``PersonRegistration``):
the same name, e-mail, phone (to E.164) and ZIP rules. A blank ``preferred_language`` is ``en``,
a blank ``role`` is ``resident`` (or ``member``, ``organizer``); ``region`` is a region's id or its
name (resolved by the store); ``tags`` are separated by semicolons.

Rows are numbered as a spreadsheet shows them: the header is row 1. A row repeating an e-mail
address or a phone number of an earlier row is dropped when it says exactly the same, and an
error naming that row when it says anything else: which of the two is right is the organizer's
to decide. Every problem of the file is reported at once; a file with any is not imported."""

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from services.engagement.people import PersonRegistration

COLUMNS = ("name", "email", "phone", "preferred_language", "zip", "region", "role", "tags")
# A file is one transaction: bounded, so one import cannot hold the table for minutes.
MAX_PEOPLE = 200_000
MAX_TAGS = 20
_TAG = re.compile(r"^[^\x00-\x1f\x7f-\x9f,;]{1,40}$")
_REGION = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{1,200}$")
# Where a registration's field is read from in the file.
_COLUMN_OF = {
    "display_name": "name",
    "email": "email",
    "phone": "phone",
    "language": "preferred_language",
    "postal_code": "zip",
}
PROGRESS_EVERY = 1000


class PersonRole(StrEnum):
    RESIDENT = "resident"
    MEMBER = "member"
    ORGANIZER = "organizer"


class RowError(BaseModel):
    """One problem: the row (1 is the header) and the column it is in ("" for the whole row)."""

    model_config = ConfigDict(frozen=True)
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}{f', {self.column}' if self.column else ''}: {self.message}"


@dataclass(frozen=True)
class ImportedPerson:
    """A row as it will be written: the registration's fields normalised as registration does.
    A dataclass: its parts are checked already, and a file has 100,000 of them."""

    row: int
    person: PersonRegistration
    region: str | None = None  # as typed: an id or a name
    role: PersonRole = PersonRole.RESIDENT
    tags: tuple[str, ...] = ()

    def same_as(self, other: "ImportedPerson") -> bool:
        return replace(self, row=0) == replace(other, row=0)


@dataclass
class ParsedFile:
    people: list[ImportedPerson] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    repeated_rows: list[int] = field(default_factory=list)  # the same person again, dropped


def parse(data: bytes, *, progress: Callable[[int], None] | None = None) -> ParsedFile:
    """Whatever the bytes: people, or errors naming rows and columns; never an exception.
    ``progress`` hears how many rows were read, every ``PROGRESS_EVERY`` rows."""
    parsed = ParsedFile()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        parsed.errors.append(RowError(row=row, column="", message=f"not UTF-8 text (byte {exc.start + 1})"))
        return parsed
    records = _records(text, parsed.errors)
    header = next(records, None)
    if header is None:
        parsed.errors.append(RowError(row=1, column="", message="the file is empty: it needs a header row"))
        return parsed
    columns = _header(header[1], parsed.errors)
    if columns is None:
        return parsed
    first_of: dict[tuple[str, str], ImportedPerson] = {}
    for count, (row, values) in enumerate(records, start=1):
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        if not any(v.strip() for v in values):
            continue  # a blank line
        if len(parsed.people) >= MAX_PEOPLE:
            parsed.errors.append(RowError(row=row, column="", message=f"more than {MAX_PEOPLE:,} people"))
            break
        person = _person(row, columns, values, parsed.errors)
        if person is not None and not _repeats(person, first_of, parsed):
            parsed.people.append(person)
    return parsed


def _records(text: str, errors: list[RowError]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row = 0
    while True:
        row += 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a stray quote, a field too large, a NUL byte
            errors.append(RowError(row=row, column="", message=f"not CSV: {exc}"))
            return
        yield row, values


def _header(names: Sequence[str], errors: list[RowError]) -> list[str] | None:
    columns = [name.strip().lower() for name in names]
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown:
        errors.append(
            RowError(
                row=1,
                column="",
                message=f"unknown columns: {', '.join(repr(n) for n in unknown)} "
                f"(the columns are {', '.join(COLUMNS)})",
            )
        )
    twice = sorted({name for name in columns if columns.count(name) > 1 and name in COLUMNS})
    if twice:
        errors.append(RowError(row=1, column="", message=f"columns named twice: {', '.join(twice)}"))
    if "name" not in columns:
        errors.append(RowError(row=1, column="", message="no name column: every person needs a name"))
    return None if unknown or twice or "name" not in columns else columns


def _person(row: int, columns: list[str], values: list[str], errors: list[RowError]) -> ImportedPerson | None:
    if len(values) > len(columns):
        errors.append(
            RowError(row=row, column="", message=f"{len(values)} values, the header names {len(columns)}")
        )
        return None
    # A spreadsheet may leave out the empty cells at a row's end.
    typed = dict(zip(columns, values, strict=False))
    found: list[RowError] = []
    person = _registration(row, typed, found)
    role = _role(row, typed.get("role", ""), found)
    tags = _tags(row, typed.get("tags", ""), found)
    region = typed.get("region", "").strip()
    if region and not _REGION.match(region):
        found.append(RowError(row=row, column="region", message="is not a region's id or name"))
    errors.extend(found)
    if found or person is None or role is None:
        return None
    return ImportedPerson(row=row, person=person, region=region or None, role=role, tags=tags)


def _registration(row: int, typed: dict[str, str], errors: list[RowError]) -> PersonRegistration | None:
    fields: dict[str, Any] = {
        "display_name": typed.get("name", ""),
        "email": typed.get("email") or None,
        "phone": typed.get("phone") or None,
        "language": typed.get("preferred_language", "").strip().lower() or "en",
        "postal_code": typed.get("zip") or None,
    }
    try:
        return PersonRegistration.model_validate(fields)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            column = _COLUMN_OF.get(str(error["loc"][0]), "") if error["loc"] else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            errors.append(RowError(row=row, column=column, message=message))
        return None


def _role(row: int, typed: str, errors: list[RowError]) -> PersonRole | None:
    try:
        return PersonRole(typed.strip().lower() or PersonRole.RESIDENT)
    except ValueError:
        choices = ", ".join(PersonRole)
        errors.append(RowError(row=row, column="role", message=f"is not one of {choices}"))
        return None


def _tags(row: int, typed: str, errors: list[RowError]) -> tuple[str, ...]:
    """Lower-cased, each once, in the order given: "Tenant; tenant" is one tag."""
    tags = tuple(dict.fromkeys(tag.strip().lower() for tag in typed.split(";") if tag.strip()))
    bad = [tag for tag in tags if not _TAG.match(tag)]
    if bad:
        message = f"{bad[0]!r} is not a tag (1 to 40 characters, no comma)"
        errors.append(RowError(row=row, column="tags", message=message))
    if len(tags) > MAX_TAGS:
        errors.append(RowError(row=row, column="tags", message=f"{len(tags)} tags, at most {MAX_TAGS}"))
    return tags


def _repeats(
    person: ImportedPerson, first_of: dict[tuple[str, str], ImportedPerson], parsed: ParsedFile
) -> bool:
    """Whether to leave ``person`` out: an earlier row again (dropped), or one sharing its
    address or number with an earlier row (an error). The unique index on people is on
    lower(email): so is this."""
    keys = []
    if person.person.email is not None:
        keys.append(("email", person.person.email.lower()))
    if person.person.phone is not None:
        keys.append(("phone", person.person.phone))
    for key in keys:
        earlier = first_of.get(key)
        if earlier is None:
            continue
        if earlier.same_as(person):
            parsed.repeated_rows.append(person.row)
            return True
        what = "e-mail address" if key[0] == "email" else "phone number"
        parsed.errors.append(
            RowError(row=person.row, column=key[0], message=f"the same {what} as row {earlier.row}")
        )
        return True
    for key in keys:
        first_of[key] = person
    return False


def region_errors(people: Sequence[ImportedPerson], found: dict[str, list[str]]) -> list[RowError]:
    """A region named that is not there, or whose name several regions share (its id tells
    them apart). ``found`` maps each region as typed to the ids it names."""
    errors = []
    for person in people:
        if person.region is None:
            continue
        ids = found.get(person.region, [])
        if not ids:
            errors.append(RowError(row=person.row, column="region", message=f"no region {person.region!r}"))
        elif len(ids) > 1:
            errors.append(
                RowError(
                    row=person.row,
                    column="region",
                    message=f"{len(ids)} regions are named {person.region!r}: give its id",
                )
            )
    return errors
