"""From a parsed export and its mapping to the figures of each region: one per band of the
platform (the sum of the columns that feed it) and the total, each with its margin of error.

A band fed by several columns gets the Census Bureau's approximation for the margin of a sum,
the square root of the sum of the squared margins (ACS handbook, "Calculating Measures of Error
for Derived Estimates"). A band one of whose columns holds an annotation ("-", "N") is left out
and said so: nothing is made up."""

import math
import re
from decimal import Decimal

from pydantic import BaseModel

from services.engagement.regions.acs import AcsExport, ExportError, ExportRow, parse_export
from services.engagement.regions.mapping import ColumnMapping, MappingProposal, Role, propose
from services.engagement.regions.validation import mismatches
from shared.demographics import TOTAL, Dimension

# Census summary levels (the digits before "US" in a GEO_ID) and the region kinds they become.
SUMMARY_LEVELS = {
    "050": "county",
    "160": "city",  # a place
    "310": "metro",  # a metropolitan or micropolitan statistical area
    "860": "zip",  # a ZIP code tabulation area
    "140": "tract",
    "150": "tract",  # a block group, counted with the tracts
}
# Summary level, its variant (ZCTAs of 2020 on: 860Z200), "US", the FIPS code.
_GEO_ID = re.compile(r"^(?P<level>\d{3})[0-9A-Z]{4}US\d+$")


class Figure(BaseModel, frozen=True):
    band: str
    estimate: int
    margin: int | None


class RegionFigures(BaseModel, frozen=True):
    row: int
    geo_id: str
    kind: str
    name: str
    figures: tuple[Figure, ...]
    left_out: tuple[str, ...]  # bands without a figure, and why


class Baselines(BaseModel, frozen=True):
    """An export ready to import: what it maps to and the figures of every region in it."""

    source: str
    table: str
    year: int
    dimension: Dimension
    proposal: MappingProposal
    regions: tuple[RegionFigures, ...]


def prepare(text: str, source: str, year: int | None = None) -> Baselines:
    """Parse, map, check and total an export; ``year`` overrides the one in the file name.
    Raises ExportError at the first fault, naming its row and column."""
    export = parse_export(text, source)
    proposal = propose(export)
    year = year or export.year
    if year is None:
        raise ExportError(source, "the file name does not say the year (ACSDT5Y2024...): give it")
    _check_counts(export, proposal)
    for mismatch in mismatches(export):
        raise mismatch.error(source)
    regions = tuple(_region(export, proposal, row) for row in export.rows)
    return Baselines(
        source=source,
        table=export.table,
        year=year,
        dimension=proposal.dimension,
        proposal=proposal,
        regions=regions,
    )


def region_kind(geo_id: str) -> str | None:
    found = _GEO_ID.match(geo_id)
    return SUMMARY_LEVELS.get(found["level"]) if found else None


def _region(export: AcsExport, proposal: MappingProposal, row: ExportRow) -> RegionFigures:
    kind = region_kind(row.geo_id)
    if kind is None:
        levels = ", ".join(f"{level} ({kind})" for level, kind in SUMMARY_LEVELS.items())
        raise ExportError(
            export.source,
            f"{row.geo_id!r} is not a geography the platform keeps ({levels})",
            row=row.row,
            column="GEO_ID",
        )
    figures, left_out = [], []
    feeds = dict(proposal.bands)
    if proposal.total is not None:
        feeds = {TOTAL: (proposal.total,), **feeds}
    for band, columns in feeds.items():
        figure, why = _figure(row, band, columns)
        if figure is None:
            left_out.append(f"{band}: {why}")
        else:
            figures.append(figure)
    _check_bands_add_up(export, proposal, row, figures)
    return RegionFigures(
        row=row.row,
        geo_id=row.geo_id,
        kind=kind,
        name=row.name,
        figures=tuple(figures),
        left_out=tuple(left_out),
    )


def _check_counts(export: AcsExport, proposal: MappingProposal) -> None:
    """Estimates and margins of what is imported are counts: whole and not negative."""
    codes = [c.code for c in proposal.columns if c.role in (Role.TOTAL, Role.BAND)]
    codes += [code[:-1] + "M" for code in codes]
    for row in export.rows:
        for code in codes:
            value = row.readings[code].value
            if value is not None and (value < 0 or value != value.to_integral_value()):
                raise ExportError(
                    export.source,
                    f"{row.readings[code].raw!r} is not a count ({export.column(code).label})",
                    row=row.row,
                    column=code,
                )


def _figure(row: ExportRow, band: str, columns: tuple[ColumnMapping, ...]) -> tuple[Figure | None, str]:
    estimate = Decimal(0)
    squares: Decimal | None = Decimal(0)
    for column in columns:
        reading = row.readings[column.code]
        if reading.value is None:
            return None, f"{column.code} is {reading.raw!r} ({reading.reason})"
        estimate += reading.value
        margin = row.readings[column.code[:-1] + "M"].value
        squares = None if margin is None or squares is None else squares + margin * margin
    margin_of_band = None if squares is None else round(math.sqrt(squares))
    return Figure(band=band, estimate=int(estimate), margin=margin_of_band), ""


def _check_bands_add_up(
    export: AcsExport, proposal: MappingProposal, row: ExportRow, figures: list[Figure]
) -> None:
    """With every column mapped, the platform's bands must give back the total: a guard against a
    mapping that counts a column twice or drops one."""
    total = proposal.total
    by_band = {f.band: f.estimate for f in figures}
    if total is None or proposal.unknown or TOTAL not in by_band or len(by_band) != len(proposal.bands) + 1:
        return
    found = sum(v for band, v in by_band.items() if band != TOTAL)
    if found != by_band[TOTAL]:
        raise ExportError(
            export.source,
            f"{row.place}: the platform's {proposal.dimension.value} bands add up to {found}, "
            f"not {by_band[TOTAL]}",
            row=row.row,
            column=total.code,
        )
