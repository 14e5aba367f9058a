"""Events about regions: where they are and who lives there, for the services that compare the
people they reach with the population (surveys, the decision ledger)."""

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.envelope import Event

RegionKind = Literal["city", "county", "metro", "area", "zip", "tract"]
ZipCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]


class BaselineFigure(BaseModel):
    """A region's population in one band of one dimension (``total`` is the dimension's universe)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dimension: str = Field(pattern=r"^[a-z_]{1,40}$")
    band: str = Field(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")
    estimate: float = Field(ge=0)


class RegionBaselinesPublished(Event):
    """A region as it now is: its name and parent, the ZIP codes inside it (however deep), and
    its whole baseline. Published whenever one of them changes; a consumer keeps the newest by
    the aggregate's sequence (``region:<id>``) and replaces what it held."""

    type = "region.baselines_published"

    region_id: UUID
    name: str = Field(min_length=1, max_length=200)
    # Added after the first events: absent in those, which a consumer reads as "not known".
    kind: RegionKind | None = Field(default=None, description="a ZIP region is a postal code, not an area")
    parent_id: UUID | None = None
    zip_codes: tuple[ZipCode, ...] = Field(default=(), max_length=5000)
    figures: tuple[BaselineFigure, ...] = Field(default=(), max_length=500)
