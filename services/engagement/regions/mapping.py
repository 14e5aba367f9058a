"""The mapping an import proposes, from an export's label paths to the platform's bands.

Which dimension a table counts is known per table (``SOURCE_TABLES``); which band a column
belongs to is read from its label: a range of years or dollars falls in the band that holds it
("$10,000 to $14,999" -> under $25,000), a category by its name ("Renter occupied" -> renter).
Several columns may feed one band (their estimates are summed); a column whose label has parts
below it and no band of its own ("Male:") is passed through to its parts; a column inside a
mapped one is already counted. What matches nothing is reported as unknown, not guessed."""

import re
from enum import StrEnum

from pydantic import BaseModel

from services.engagement.regions.acs import AcsExport, ExportColumn, ExportError
from shared.demographics import CATALOGUE, TOTAL, Dimension

SOURCE_TABLES: dict[str, Dimension] = {
    "B01001": Dimension.AGE,  # sex by age
    "B03002": Dimension.RACE_ETHNICITY,  # Hispanic or Latino origin by race
    "B19001": Dimension.HOUSEHOLD_INCOME,  # household income in the past 12 months
    "B25003": Dimension.TENURE,  # tenure (occupied housing units)
    "C16001": Dimension.LANGUAGE_AT_HOME,  # language spoken at home, population 5 years and over
}

# Category labels, lower case, without the colon that marks a level with parts.
_CATEGORIES: dict[Dimension, dict[str, str]] = {
    Dimension.TENURE: {"owner occupied": "owner", "renter occupied": "renter"},
    Dimension.RACE_ETHNICITY: {
        "hispanic or latino": "hispanic_latino",
        "white alone": "white",
        "black or african american alone": "black",
        "asian alone": "asian",
        "american indian and alaska native alone": "american_indian_alaska_native",
        "native hawaiian and other pacific islander alone": "native_hawaiian_pacific_islander",
        "some other race alone": "another_race",
        "two or more races": "two_or_more",
    },
    Dimension.LANGUAGE_AT_HOME: {
        "speak only english": "english_only",
        "spanish": "spanish",
        "french, haitian, or cajun": "other_indo_european",
        "german or other west germanic languages": "other_indo_european",
        "russian, polish, or other slavic languages": "other_indo_european",
        "other indo-european languages": "other_indo_european",
        "korean": "asian_pacific_island",
        "chinese (incl. mandarin, cantonese)": "asian_pacific_island",
        "vietnamese": "asian_pacific_island",
        "tagalog (incl. filipino)": "asian_pacific_island",
        "other asian and pacific island languages": "asian_pacific_island",
        "arabic": "other",
        "other and unspecified languages": "other",
    },
}
_RANGED = {Dimension.AGE, Dimension.HOUSEHOLD_INCOME}

_AMOUNT = r"\$?(\d[\d,]*)"
_BELOW = re.compile(rf"^(?:less than|under) {_AMOUNT}")
_BETWEEN = re.compile(rf"^{_AMOUNT} (?:to|and) {_AMOUNT}")
_ABOVE = re.compile(rf"^{_AMOUNT} (?:years )?(?:or more|and over|or over)")
_SINGLE = re.compile(r"^(\d+) years?$")


class Role(StrEnum):
    TOTAL = "total"
    BAND = "band"
    PARTS = "parts"  # a level whose parts are mapped one by one ("Male:")
    WITHIN = "within"  # inside a mapped column, already counted there
    UNKNOWN = "unknown"


class ColumnMapping(BaseModel, frozen=True):
    code: str  # the estimate's code; its margin is the same code ending in M
    label: str
    role: Role
    band: str | None = None  # for TOTAL and BAND
    note: str = ""


class MappingProposal(BaseModel, frozen=True):
    source: str
    table: str
    dimension: Dimension
    columns: tuple[ColumnMapping, ...]

    @property
    def total(self) -> ColumnMapping | None:
        return next((c for c in self.columns if c.role is Role.TOTAL), None)

    @property
    def bands(self) -> dict[str, tuple[ColumnMapping, ...]]:
        """Each band that some column feeds, in the catalogue's order, with those columns."""
        mapped = [c for c in self.columns if c.role is Role.BAND]
        return {
            band.code: tuple(c for c in mapped if c.band == band.code)
            for band in CATALOGUE[self.dimension].bands
            if any(c.band == band.code for c in mapped)
        }

    @property
    def unknown(self) -> tuple[ColumnMapping, ...]:
        return tuple(c for c in self.columns if c.role is Role.UNKNOWN)


def label_range(label: str) -> tuple[int, int | None] | None:
    """[low, high) of a label naming a range of years or dollars, high None when open-ended."""
    text = label.lower().rstrip(":").strip()
    if found := _BELOW.match(text):
        return 0, _number(found[1])
    if found := _BETWEEN.match(text):
        return _number(found[1]), _number(found[2]) + 1
    if found := _ABOVE.match(text):
        return _number(found[1]), None
    if found := _SINGLE.match(text):
        return int(found[1]), int(found[1]) + 1
    return None


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def band_for(dimension: Dimension, label: str) -> tuple[str | None, str]:
    """The band a label's last level belongs to, or None and why none."""
    if dimension in _RANGED:
        found = label_range(label)
        if found is None:
            return None, "not a range the platform reads"
        low, high = found
        holding = [b.code for b in CATALOGUE[dimension].bands if b.holds(low, high)]
        if holding:
            return holding[0], ""
        return None, "spans more than one of the platform's bands"
    band = _CATEGORIES[dimension].get(label.lower().rstrip(":").strip())
    return (band, "") if band else (None, "no band of this name")


def propose(export: AcsExport) -> MappingProposal:
    dimension = SOURCE_TABLES.get(export.table)
    if dimension is None:
        known = ", ".join(f"{table} ({dim.value})" for table, dim in SOURCE_TABLES.items())
        raise ExportError(
            export.source, f"table {export.table} is not one the platform maps yet; it maps {known}", row=1
        )
    estimates = [c for c in export.estimates if not c.code.endswith("PE")]
    paths = {c.path for c in estimates}
    mapped: list[tuple[str, ...]] = []
    columns = []
    for column in estimates:
        columns.append(_map_column(column, dimension, paths, mapped))
        if columns[-1].role is Role.BAND:
            mapped.append(column.path)
    return MappingProposal(
        source=export.source, table=export.table, dimension=dimension, columns=tuple(columns)
    )


def _map_column(
    column: ExportColumn, dimension: Dimension, paths: set[tuple[str, ...]], mapped: list[tuple[str, ...]]
) -> ColumnMapping:
    path = column.path

    def outcome(role: Role, band: str | None = None, note: str = "") -> ColumnMapping:
        return ColumnMapping(code=column.code, label=column.label, role=role, band=band, note=note)

    if len(path) == 1:
        if path[0].rstrip(":").lower() == "total":
            return outcome(Role.TOTAL, TOTAL)
        return outcome(Role.UNKNOWN, note="a top level other than Total")
    inside = next((m for m in mapped if path[: len(m)] == m), None)
    if inside is not None:
        return outcome(Role.WITHIN, note=f"counted in {'!!'.join(inside)}")
    band, why = band_for(dimension, path[-1])
    if band is not None:
        return outcome(Role.BAND, band)
    if any(other[: len(path)] == path and len(other) > len(path) for other in paths):
        return outcome(Role.PARTS, note="has parts below it, mapped one by one")
    return outcome(Role.UNKNOWN, note=why)
