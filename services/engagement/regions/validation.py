"""Whether an export adds up: in a detailed table a level whose label ends in a colon has parts,
and its parts sum to it ("Estimate!!Total:" = the 16 income brackets below it). A column missing
from a cut-down file, or a value typed over, shows as a mismatch naming the row and the column.
Rows where a part holds an annotation instead of a number cannot be checked and are not."""

from decimal import Decimal

from pydantic import BaseModel

from services.engagement.regions.acs import AcsExport, ExportColumn, ExportError


class Mismatch(BaseModel, frozen=True):
    row: int
    place: str
    column: str  # the level whose parts do not add up to it
    label: str
    expected: Decimal
    found: Decimal
    parts: tuple[str, ...]

    def error(self, source: str) -> ExportError:
        return ExportError(
            source,
            f"{self.place}: the {len(self.parts)} parts of {self.label!r} ({', '.join(self.parts)}) "
            f"add up to {self.found}, not {self.expected}",
            row=self.row,
            column=self.column,
        )


def _parts(export: AcsExport) -> dict[ExportColumn, tuple[ExportColumn, ...]]:
    """Each counted level that says it has parts (a colon), with the parts present in the file."""
    counts = [c for c in export.estimates if not c.code.endswith("PE")]
    levels = {}
    for level in counts:
        if level.label.endswith(":"):
            levels[level] = tuple(c for c in counts if c.path[:-1] == level.path)
    return levels


def mismatches(export: AcsExport) -> list[Mismatch]:
    found = []
    levels = _parts(export)
    for row in export.rows:
        for level, parts in levels.items():
            whole = row.readings[level.code].value
            values = [row.readings[p.code].value for p in parts]
            if whole is None or any(v is None for v in values):
                continue
            total = sum((v for v in values if v is not None), Decimal(0))
            if total != whole:
                found.append(
                    Mismatch(
                        row=row.row,
                        place=row.place,
                        column=level.code,
                        label=level.label,
                        expected=whole,
                        found=total,
                        parts=tuple(p.code for p in parts),
                    )
                )
    return found
