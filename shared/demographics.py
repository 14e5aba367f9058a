"""The platform's dimensions and their bands: what a region's population baseline is counted in
(engagement) and what a survey's demographics section asks in (surveys), so that respondents
can be compared with the population band by band.

Bands are coarser than the Census tables they come from (B19001's 16 income brackets become 7),
so that a survey or campaign can be compared with them without groups too small to mean much.
Each dimension also has a ``total`` (its universe: households, people...) that its bands add up to.

- age (people): under 18, 18-24, 25-34, 35-44, 45-54, 55-64, 65 and over
- race_ethnicity (people): Hispanic or Latino (of any race); not Hispanic: White, Black, Asian,
  American Indian or Alaska Native, Native Hawaiian or Pacific Islander, another race, two or more
- household_income (households): under $25k, $25-50k, $50-75k, $75-100k, $100-150k, $150-200k,
  $200k and over
- tenure (households, i.e. occupied housing units): owner, renter
- language_at_home (people 5 and over): English only, Spanish, other Indo-European, Asian and
  Pacific Island, other

The same list is in engagement's database (``baseline_bands``, its migration 0003), which refuses a figure for
a band not in it; a test keeps the two equal. Changing a band is therefore a migration.
"""

from enum import StrEnum

from pydantic import BaseModel

TOTAL = "total"


class Dimension(StrEnum):
    AGE = "age"
    RACE_ETHNICITY = "race_ethnicity"
    HOUSEHOLD_INCOME = "household_income"
    TENURE = "tenure"
    LANGUAGE_AT_HOME = "language_at_home"


class Band(BaseModel, frozen=True):
    code: str
    label: str
    # For bands of a quantity (age in years, income in dollars): [low, high), high None when open.
    low: int | None = None
    high: int | None = None

    def holds(self, low: int, high: int | None) -> bool:
        """Whether the range [low, high) lies wholly inside this band."""
        if self.low is None or low < self.low:
            return False
        if self.high is None:
            return True
        return high is not None and high <= self.high


class DimensionSpec(BaseModel, frozen=True):
    dimension: Dimension
    label: str
    universe: str
    bands: tuple[Band, ...]

    def band(self, code: str) -> Band:
        return next(b for b in self.bands if b.code == code)


def _ranges(unit: str, edges: list[int]) -> tuple[Band, ...]:
    """Consecutive bands between ``edges``, the first from 0 and the last open-ended."""
    bounds = [0, *edges]
    bands = []
    for low, high in zip(bounds, [*edges, None], strict=True):
        if high is None:
            code, label = f"{low}_plus", f"{low:,} {unit} and over"
        elif low == 0:
            code, label = f"under_{high}", f"under {high:,} {unit}"
        else:
            code, label = f"{low}_{high - 1}", f"{low:,}-{high - 1:,} {unit}"
        bands.append(Band(code=code, label=label, low=low, high=high))
    return tuple(bands)


def _kinds(*pairs: tuple[str, str]) -> tuple[Band, ...]:
    return tuple(Band(code=code, label=label) for code, label in pairs)


CATALOGUE: dict[Dimension, DimensionSpec] = {
    spec.dimension: spec
    for spec in (
        DimensionSpec(
            dimension=Dimension.AGE,
            label="Age",
            universe="people",
            bands=_ranges("years", [18, 25, 35, 45, 55, 65]),
        ),
        DimensionSpec(
            dimension=Dimension.RACE_ETHNICITY,
            label="Race and ethnicity",
            universe="people",
            bands=_kinds(
                ("hispanic_latino", "Hispanic or Latino (of any race)"),
                ("white", "White, not Hispanic"),
                ("black", "Black or African American, not Hispanic"),
                ("asian", "Asian, not Hispanic"),
                ("american_indian_alaska_native", "American Indian or Alaska Native, not Hispanic"),
                ("native_hawaiian_pacific_islander", "Native Hawaiian or Pacific Islander, not Hispanic"),
                ("another_race", "Another race, not Hispanic"),
                ("two_or_more", "Two or more races, not Hispanic"),
            ),
        ),
        DimensionSpec(
            dimension=Dimension.HOUSEHOLD_INCOME,
            label="Household income",
            universe="households",
            bands=_ranges("dollars", [25_000, 50_000, 75_000, 100_000, 150_000, 200_000]),
        ),
        DimensionSpec(
            dimension=Dimension.TENURE,
            label="Tenure",
            universe="households (occupied housing units)",
            bands=_kinds(("owner", "Owner"), ("renter", "Renter")),
        ),
        DimensionSpec(
            dimension=Dimension.LANGUAGE_AT_HOME,
            label="Language spoken at home",
            universe="people 5 years and over",
            bands=_kinds(
                ("english_only", "English only"),
                ("spanish", "Spanish"),
                ("other_indo_european", "Other Indo-European languages"),
                ("asian_pacific_island", "Asian and Pacific Island languages"),
                ("other", "Other languages"),
            ),
        ),
    )
}
