"""What the building API reads and answers. No I/O."""

from datetime import datetime
from typing import Any, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel, model_validator

from services.surveys.building.lifecycle import Phase

PAGE_SIZE = 25
Mode = Literal["anonymous", "confidential", "identified"]
Access = Literal["public", "invited", "both"]
Threshold = Field(default=5, ge=2, le=100, description="cells under it are hidden in results")
DOCUMENT_HELP = "the survey document: languages, title, sections of questions (building/definition.py)"


class Schedule(BaseModel):
    """When an open survey takes answers: from ``opens_at`` (none: at once) to ``closes_at``
    (none: until closed by hand)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _closes_after_opening(self) -> Self:
        if self.opens_at is not None and self.closes_at is not None and self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self


class NewSurvey(Schedule):
    organisation_id: UUID
    mode: Mode
    access: Access
    region_id: UUID | None = None
    campaign_id: UUID | None = None
    suppression_threshold: int = Threshold
    results_public: bool = False
    document: dict[str, Any] = Field(description=DOCUMENT_HELP)


class SettingsChange(Schedule):
    """The settings to change; a field left out stays as it is (``null`` clears a region,
    campaign or date). Mode and access change only while the survey is a draft."""

    mode: Mode | None = None
    access: Access | None = None
    region_id: UUID | None = None
    campaign_id: UUID | None = None
    suppression_threshold: int | None = Field(default=None, ge=2, le=100)
    results_public: bool | None = None


class Document(RootModel[dict[str, Any]]):
    """A survey document as posted and exported (its rules: building/definition.py)."""


class Version(BaseModel):
    version: int
    created_at: datetime


class SurveySummary(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: UUID
    slug: str
    organisation_id: UUID
    organisation_name: str | None = Field(description="as engagement last named it; none until then")
    title: dict[str, str] = Field(description="the current version's title, per language")
    main_language: str
    mode: Mode
    access: Access
    status: Literal["draft", "open", "closed"]
    phase: Phase
    opens_at: datetime | None
    closes_at: datetime | None
    current_version: int
    responses: int
    public_path: str = Field(description="where residents answer it")

    def title_in(self, language: str) -> str:
        return self.title.get(language) or self.title.get(self.main_language) or self.slug


class Survey(SurveySummary):
    region_id: UUID | None
    campaign_id: UUID | None
    suppression_threshold: int
    results_public: bool
    created_at: datetime
    updated_at: datetime
    versions: list[Version]


class SurveyList(BaseModel):
    items: list[SurveySummary]
    page: int
    pages: int


class Query(BaseModel):
    """A list's search (by title, in any language) and page."""

    model_config = ConfigDict(extra="ignore")
    q: str = Field(default="", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
    page: int = Field(default=1, ge=1, le=10_000)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))
