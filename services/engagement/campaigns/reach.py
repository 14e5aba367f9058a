"""How representative a campaign's audience is of the population of its regions. No I/O.

Each region's share of the audience (its people among the audience's people in the campaign's
regions) is set beside its share of the population (its households among theirs, from the
region baselines' household totals). A region whose audience share is under four fifths of its
population share is under-represented, the most under-represented first: that is where the
outreach should go next. Regions without a household total are listed, not compared: nothing is
made up. Regions that overlap (a metro and its counties) are each counted whole, for the people
and the households alike, so their shares stay comparable.

Who responded (to the campaign's surveys: campaigns/responses.py counts them) is set beside the
audience's population one dimension at a time, by the same rules as a survey's results
(services/surveys/results/representativeness.py), naming the most under-represented bands.
Contacted is the people its news reached (notifications' campaign.contacted, counted in
campaigns/contacted.py). Registered and attended are the audience's people holding a seat or
waiting for one at its linked meetings, and those who came (counted in store.meeting_reach)."""

from collections.abc import Mapping
from fractions import Fraction
from uuid import UUID

from pydantic import BaseModel, Field

from services.engagement.campaigns.models import AudienceSize
from services.surveys.results.representativeness import BandCount, Representativeness, representativeness
from shared import representation
from shared.demographics import CATALOGUE
from shared.representation import Part

NAMED = 3  # the under-represented regions a page names


class RegionCount(BaseModel, frozen=True):
    """One of a campaign's regions: its audience people and its households (None: no baseline)."""

    region_id: UUID
    name: str
    people: int = Field(ge=0)
    households: int | None = Field(ge=0)
    responded: int = Field(default=0, ge=0)


class RegionReach(BaseModel, frozen=True):
    region_id: UUID
    name: str
    people: int
    households: int | None
    responded: int = Field(description="responses from inside it to the campaign's surveys")
    audience_share: float | None = Field(
        description="its share of the audience in the compared regions; none when not compared"
    )
    population_share: float | None = Field(description="its share of their households")
    representation: float | None = Field(
        description="audience share / population share: 1 is as the population, under 0.8 under-represented"
    )


class Reach(BaseModel, frozen=True):
    audience: AudienceSize
    regions: tuple[RegionReach, ...]
    under_represented: tuple[UUID, ...] = Field(
        description=f"the most under-represented regions, at most {NAMED}, the most first"
    )
    responded: int = Field(ge=0, description="responses to the campaign's surveys")
    respondents: tuple[Representativeness, ...] = Field(
        description="per dimension with respondents or a population figure, the respondents' bands "
        "against the audience's population; under_represented names the bands most under first"
    )
    contacted: int = Field(
        default=0, ge=0, description="people its news reached (accepted by the mail server)"
    )
    registered: int = Field(
        default=0,
        ge=0,
        description="people of the audience holding a seat or waiting for one at its meetings",
    )
    attended: int = Field(
        default=0, ge=0, description="people of the audience who came to one of its meetings"
    )


def _parts(regions: list[RegionCount]) -> list[Part[UUID]]:
    return [Part(r.region_id, r.name, r.people, r.households) for r in regions]


def shares(regions: list[RegionCount]) -> dict[UUID, tuple[Fraction, Fraction]]:
    """Each compared region's (audience share, population share): the regions with households,
    when someone in the audience lives in one of them (else there is nothing to compare)."""
    return representation.shares(_parts(regions))


def under_represented(regions: list[RegionCount]) -> list[UUID]:
    """The regions under four fifths of their population share, the most under-represented
    first (ties: the larger population first, then the name, so the order is stable)."""
    return representation.under_represented(_parts(regions))


Bands = Mapping[tuple[str, str], int]  # (dimension, band) -> respondents or people


def respondents(responded: Bands, population: Bands) -> tuple[Representativeness, ...]:
    """The dimensions with someone responding or living in a band, each compared band by band."""
    found = []
    for dimension, spec in CATALOGUE.items():
        bands = [
            BandCount(
                band=band.code,
                respondents=responded.get((dimension.value, band.code), 0),
                population=population.get((dimension.value, band.code)),
            )
            for band in spec.bands
        ]
        if any(b.respondents or b.population for b in bands):
            found.append(representativeness(dimension, bands))
    return tuple(found)


def reach(
    audience: AudienceSize,
    regions: list[RegionCount],
    responded: int = 0,
    responded_bands: Bands | None = None,
    population: Bands | None = None,
    contacted: int = 0,
    registered: int = 0,
    attended: int = 0,
) -> Reach:
    compared = shares(regions)

    def one(r: RegionCount) -> RegionReach:
        audience_share, population_share = compared.get(r.region_id, (None, None))
        return RegionReach(
            region_id=r.region_id,
            name=r.name,
            people=r.people,
            households=r.households,
            responded=r.responded,
            audience_share=None if audience_share is None else float(audience_share),
            population_share=None if population_share is None else float(population_share),
            representation=None
            if audience_share is None or population_share is None
            else float(audience_share / population_share),
        )

    return Reach(
        audience=audience,
        regions=tuple(one(r) for r in regions),
        under_represented=tuple(under_represented(regions)[:NAMED]),
        responded=responded,
        respondents=respondents(responded_bands or {}, population or {}),
        registered=registered,
        attended=attended,
        contacted=contacted,
    )
