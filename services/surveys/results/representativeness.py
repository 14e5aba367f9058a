"""How representative a survey's respondents are of their region's population, one dimension at
a time (tenure, household income...). No I/O.

Each band's share of the respondents is set beside its share of the region's baseline estimate;
their ratio is the band's representation (1: as in the population). A band under four fifths is
under-represented, the most under-represented first. The summary per dimension is one minus the
index of dissimilarity (Duncan and Duncan, 1955): 1 - ½·Σ|respondent share - population share|,
in [0, 1], 1 when the respondents are spread over the bands as the population is, near 0 when
they are all in a band where few people live. It reads as the share of respondents that would not
have to change band for the two spreads to be the same.

Shares are among the *compared* bands: those with a baseline figure above 0. A band without one
(no figure, or a population of 0) is listed, not compared: nothing is made up, and a ratio to 0
means nothing. With no respondents in the compared bands there are no shares and no index.
Shares are worked out exactly (fractions) so that the same respondents in any multiple give the
same results and ties are real ties.
"""

from fractions import Fraction

from pydantic import BaseModel, Field, model_validator

from shared import representation
from shared.demographics import CATALOGUE, Dimension
from shared.representation import Part


class BandCount(BaseModel, frozen=True):
    """One band of a dimension: the survey's respondents in it and the region's baseline estimate
    for it (None: no figure)."""

    band: str = Field(description="the band's code in shared.demographics: owner, under_25000...")
    respondents: int = Field(ge=0)
    population: int | None = Field(ge=0)


class BandShare(BaseModel, frozen=True):
    band: str
    respondents: int
    population: int | None
    respondent_share: float | None = Field(
        description="its share of the respondents in the compared bands; none when not compared"
    )
    population_share: float | None = Field(description="its share of their population")
    representation: float | None = Field(
        description="respondent share / population share: 1 is as the population, under 0.8 under-represented"
    )


class Representativeness(BaseModel, frozen=True):
    dimension: Dimension
    bands: tuple[BandShare, ...]
    index: float | None = Field(
        description="1 - the index of dissimilarity, in [0, 1], 1 perfectly representative; "
        "none without respondents in the compared bands"
    )
    under_represented: tuple[str, ...] = Field(
        description="the bands under four fifths of their population share, the most under first"
    )


class _Dimension(BaseModel, frozen=True):
    dimension: Dimension
    bands: tuple[BandCount, ...]

    @model_validator(mode="after")
    def _each_band_once_and_its_own(self) -> "_Dimension":
        codes = [b.band for b in self.bands]
        unknown = sorted(set(codes) - {b.code for b in CATALOGUE[self.dimension].bands})
        if unknown:
            raise ValueError(f"not a band of {self.dimension}: {unknown}")
        if len(set(codes)) != len(codes):
            raise ValueError(
                f"a band is counted twice: {sorted(c for c in set(codes) if codes.count(c) > 1)}"
            )
        return self


def _parts(bands: list[BandCount]) -> list[Part[str]]:
    return [Part(b.band, b.band, b.respondents, b.population) for b in bands]


def shares(bands: list[BandCount]) -> dict[str, tuple[Fraction, Fraction]]:
    """Each compared band's (respondent share, population share); none when no respondent is in
    a compared band, as then there is nothing to compare."""
    return representation.shares(_parts(bands))


def under_represented(bands: list[BandCount]) -> list[str]:
    """The bands under four fifths of their population share, the most under-represented first
    (ties: the larger population first, then the band's code, so the order is stable)."""
    return representation.under_represented(_parts(bands))


def representativeness(dimension: Dimension, bands: list[BandCount]) -> Representativeness:
    """A dimension's bands compared with the population's (the module's docstring says how)."""
    _Dimension(dimension=dimension, bands=tuple(bands))
    compared = shares(bands)

    def one(b: BandCount) -> BandShare:
        respondent, population = compared.get(b.band, (None, None))
        return BandShare(
            band=b.band,
            respondents=b.respondents,
            population=b.population,
            respondent_share=None if respondent is None else float(respondent),
            population_share=None if population is None else float(population),
            representation=None
            if respondent is None or population is None
            else float(respondent / population),
        )

    dissimilarity = sum((abs(r - p) for r, p in compared.values()), Fraction(0)) / 2
    return Representativeness(
        dimension=dimension,
        bands=tuple(one(b) for b in bands),
        index=float(1 - dissimilarity) if compared else None,
        under_represented=tuple(under_represented(bands)),
    )
