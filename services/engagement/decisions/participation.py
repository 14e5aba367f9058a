"""How representative a decision's survey respondents are of its region, per dimension, by the
platform's one rule (shared/representation.py: shares among the bands with a baseline, under
four fifths of the population's share is under-represented). No I/O.

The page is public, so a band with fewer than ``SHOWN_FROM`` respondents shows no count or share
of its own (it still counts in the others' shares). This is a floor, not the surveys service's
suppression with complementary cells: a band's count can still be worked out from the
dimension's total and the others when only one is hidden."""

from collections.abc import Iterable
from fractions import Fraction

from pydantic import BaseModel

from shared.demographics import CATALOGUE, Dimension
from shared.representation import Part, shares, under_represented

SHOWN_FROM = 5


class BandRow(BaseModel, frozen=True):
    band: str
    label: str
    respondents: int | None  # None: fewer than SHOWN_FROM, not shown
    respondent_percent: int | None  # whole percent of the compared respondents
    population_percent: int | None
    under: bool


class DimensionRows(BaseModel, frozen=True):
    dimension: str
    label: str
    bands: tuple[BandRow, ...]


def _percent(share: Fraction | None) -> int | None:
    return None if share is None else round(share * 100)


def representativeness(
    counts: Iterable[tuple[str, str, int]], baseline: Iterable[tuple[str, str, int]]
) -> list[DimensionRows]:
    """Per dimension with a baseline: each band's respondents and shares. ``counts`` and
    ``baseline`` are (dimension, band, number); bands not in the platform's catalogue are left out."""
    responded: dict[tuple[str, str], int] = {(d, b): n for d, b, n in counts}
    population: dict[tuple[str, str], int] = {(d, b): n for d, b, n in baseline}
    found = []
    for dimension in Dimension:
        spec = CATALOGUE[dimension]
        if not any((dimension.value, band.code) in population for band in spec.bands):
            continue
        parts = [
            Part(
                band.code,
                band.code,
                responded.get((dimension.value, band.code), 0),
                population.get((dimension.value, band.code)),
            )
            for band in spec.bands
        ]
        compared, under = shares(parts), set(under_represented(parts))
        rows = []
        for band, part in zip(spec.bands, parts, strict=True):
            respondent, people = compared.get(band.code, (None, None))
            shown = part.count >= SHOWN_FROM
            rows.append(
                BandRow(
                    band=band.code,
                    label=band.label,
                    respondents=part.count if shown else None,
                    respondent_percent=_percent(respondent) if shown else None,
                    population_percent=_percent(people),
                    under=band.code in under,
                )
            )
        found.append(DimensionRows(dimension=dimension.value, label=spec.label, bands=tuple(rows)))
    return found
