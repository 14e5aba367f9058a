"""Reading a table exported from data.census.gov (American Community Survey), without I/O: the
caller hands over the file's text. What such an export looks like is in data/acs/README.md: two
header rows (variable codes, then label paths with ``!!``), every field quoted, a trailing comma,
maybe a byte-order mark, and values that are annotations rather than numbers.

Every value of an estimate (``E``, ``PE``) or margin (``M``, ``PM``) column becomes a ``Reading``:
a number, or None with the reason the Bureau gave. Anything else is an ``ExportError`` naming the
row and the column, never a bare ``int()`` failing somewhere later."""

import csv
import io
import re
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

# Variable codes: table, line number, suffix (B19001_002E, DP05_0001PE, B19001A_003M).
_CODE = re.compile(r"^(?P<table>[A-Z]{1,2}\d{2,5}[A-Z]{0,2})_(?P<line>\d{3,4})(?P<suffix>PE|PM|EA|MA|E|M)$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
# A median in an open-ended band, written as its edge: "2,500-", "250,000+".
_OPEN_ENDED = re.compile(r"^\d[\d,]*(?:\.\d+)?[-+]$")
# File names as exported: ACSDT5Y2024.B19001-Data.csv (survey, years, end year, table).
_FILE_NAME = re.compile(r"ACS(?:DT|ST|DP|SPP)[15]Y(?P<year>\d{4})\.(?P<table>[A-Z0-9]+)")

ANNOTATIONS = {
    "(X)": "does not apply",
    "-": "could not be computed (too few sample observations)",
    "N": "not published (too few cases)",
    "**": "no margin could be computed (too few sample observations)",
    "***": "no margin could be computed (median in an open-ended band)",
    "*****": "no margin applies: the estimate is exact",
    "null": "not given",
}
EXACT = "*****"


class ColumnKind(StrEnum):
    ESTIMATE = "estimate"
    MARGIN = "margin"
    OTHER = "other"  # GEO_ID, NAME, annotation columns (EA, MA)


class ExportColumn(BaseModel, frozen=True):
    code: str
    label: str
    kind: ColumnKind
    table: str | None = None

    @property
    def path(self) -> tuple[str, ...]:
        """The label's levels below "Estimate"/"Margin of Error": ("Total:", "Owner occupied")."""
        return tuple(self.label.split("!!")[1:])

    @property
    def margin_code(self) -> str | None:
        """The margin column that goes with this estimate (B25003_002E -> B25003_002M)."""
        if self.kind is not ColumnKind.ESTIMATE:
            return None
        return self.code[: -len("E")] + "M"


class Reading(BaseModel, frozen=True):
    """A value as written (``raw``): a number, or None and why the Bureau gave none."""

    raw: str
    value: Decimal | None
    reason: str | None = None


class ExportRow(BaseModel, frozen=True):
    row: int
    geo_id: str
    name: str
    readings: dict[str, Reading]

    @property
    def place(self) -> str:
        return f"{self.geo_id} {self.name}"


class AcsExport(BaseModel, frozen=True):
    source: str  # the file's name, for messages
    table: str
    year: int | None  # the last year of the estimates, from the file name when it says
    columns: tuple[ExportColumn, ...]
    rows: tuple[ExportRow, ...]

    def column(self, code: str) -> ExportColumn:
        return next(c for c in self.columns if c.code == code)

    @property
    def estimates(self) -> tuple[ExportColumn, ...]:
        return tuple(c for c in self.columns if c.kind is ColumnKind.ESTIMATE)


class ExportError(ValueError):
    """A file that cannot be read as an export, naming where: the row (1 and 2 are the header
    rows, data starts at 3; a row is a line of the file, as the Bureau writes no line breaks
    inside a value) and the column, when the fault is in one."""

    def __init__(self, source: str, message: str, *, row: int | None = None, column: str | None = None):
        self.source, self.row, self.column, self.message = source, row, column, message
        where = [source]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {message}")


def read_value(raw: str, kind: ColumnKind) -> Reading | None:
    """The reading of one value; None when it is neither a number nor a known annotation."""
    text = raw.strip()
    if _NUMBER.match(text):
        return Reading(raw=raw, value=Decimal(text))
    if text == EXACT and kind is ColumnKind.MARGIN:
        return Reading(raw=raw, value=Decimal(0), reason=ANNOTATIONS[EXACT])
    if text in ANNOTATIONS:
        return Reading(raw=raw, value=None, reason=ANNOTATIONS[text])
    if _OPEN_ENDED.match(text):
        return Reading(raw=raw, value=None, reason=f"open-ended: a median beyond {text[:-1]}")
    return None


def source_year(file_name: str) -> int | None:
    found = _FILE_NAME.search(file_name)
    return int(found["year"]) if found else None


def parse_export(text: str, source: str) -> AcsExport:
    """The export in ``text`` (a file's whole content); ``source`` names it in messages."""
    try:
        records = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    except csv.Error as exc:
        raise ExportError(source, f"not CSV: {exc}") from None
    if len(records) < 2:
        raise ExportError(source, "an export starts with two header rows (codes, then labels)")
    codes, labels = _drop_trailing(records[0]), _drop_trailing(records[1])
    if len(codes) != len(labels):
        raise ExportError(source, f"{len(codes)} codes but {len(labels)} labels", row=2)
    columns = _columns(source, codes, labels)
    table = _one_table(source, columns)
    rows = _rows(source, columns, records[2:])
    return AcsExport(source=source, table=table, year=source_year(source), columns=columns, rows=rows)


def _drop_trailing(record: list[str]) -> list[str]:
    """Every line ends in a comma: one more, empty, unnamed field."""
    return record[:-1] if record and record[-1] == "" else record


def _columns(source: str, codes: list[str], labels: list[str]) -> tuple[ExportColumn, ...]:
    seen: set[str] = set()
    columns: list[ExportColumn] = []
    for code, label in zip(codes, labels, strict=True):
        if not code:
            raise ExportError(source, "a column without a code", row=1, column=f"#{len(columns) + 1}")
        if code in seen:
            raise ExportError(source, "appears twice", row=1, column=code)
        seen.add(code)
        found = _CODE.match(code)
        if found is None:
            columns.append(ExportColumn(code=code, label=label, kind=ColumnKind.OTHER))
            continue
        suffix = found["suffix"]
        kind = {"E": ColumnKind.ESTIMATE, "PE": ColumnKind.ESTIMATE, "M": ColumnKind.MARGIN}.get(suffix)
        kind = kind or (ColumnKind.MARGIN if suffix == "PM" else ColumnKind.OTHER)
        columns.append(ExportColumn(code=code, label=label, kind=kind, table=found["table"]))
    for required in ("GEO_ID", "NAME"):
        if required not in seen:
            raise ExportError(source, f"no {required} column", row=1, column=required)
    for column in columns:  # estimates and margins come in pairs: one without the other is a cut file
        if column.kind is not ColumnKind.OTHER and column.code[-1] in "EM":
            pair = column.code[:-1] + ("M" if column.code.endswith("E") else "E")
            if pair not in seen:
                raise ExportError(source, f"{column.code} is here but {pair} is missing", row=1, column=pair)
    return tuple(columns)


def _one_table(source: str, columns: tuple[ExportColumn, ...]) -> str:
    tables = [c for c in columns if c.table is not None]
    if not tables:
        raise ExportError(source, "no estimate or margin columns (codes such as B25003_001E)", row=1)
    first = tables[0].table
    assert first is not None
    for column in tables:
        if column.table != first:
            raise ExportError(
                source, f"from table {column.table}, the others from {first}", row=1, column=column.code
            )
    return first


def _rows(source: str, columns: tuple[ExportColumn, ...], records: list[list[str]]) -> tuple[ExportRow, ...]:
    rows: list[ExportRow] = []
    seen: dict[str, int] = {}
    for row, record in enumerate(records, start=3):
        if not record:  # a blank line, at the end of a file saved by hand
            continue
        values = _drop_trailing(record)
        if len(values) < len(columns):
            raise ExportError(
                source,
                f"{len(values)} values, the header has {len(columns)}",
                row=row,
                column=columns[len(values)].code,
            )
        if len(values) > len(columns):
            raise ExportError(
                source,
                f"{len(values)} values, the header has {len(columns)}",
                row=row,
                column=f"#{len(columns) + 1}",
            )
        by_code = dict(zip((c.code for c in columns), values, strict=True))
        geo_id = by_code["GEO_ID"]
        if geo_id in seen:
            raise ExportError(
                source, f"{geo_id} again (first on row {seen[geo_id]})", row=row, column="GEO_ID"
            )
        seen[geo_id] = row
        readings = {}
        for column in columns:
            if column.kind is ColumnKind.OTHER:
                continue
            reading = read_value(by_code[column.code], column.kind)
            if reading is None:
                raise ExportError(
                    source,
                    f"{by_code[column.code]!r} is neither a number nor a Census annotation ({column.label})",
                    row=row,
                    column=column.code,
                )
            readings[column.code] = reading
        rows.append(ExportRow(row=row, geo_id=geo_id, name=by_code["NAME"], readings=readings))
    if not rows:
        raise ExportError(source, "no data rows below the two header rows", row=3)
    return tuple(rows)
