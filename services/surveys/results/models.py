"""What the results API answers with (and the pages show): pydantic models, so the OpenAPI
document describes them. A count that is not shown is ``null``: small, or hidden so that a small
one cannot be worked out (suppression.py); the two are never told apart."""

from uuid import UUID

from pydantic import BaseModel, Field

from shared.demographics import Dimension

Shown = int | None


class VersionCount(BaseModel, frozen=True):
    version: int
    responses: int


class BucketCount(BaseModel, frozen=True):
    bucket: str = Field(description="an option id, a point, option@rank, or @other, @answered, @skipped")
    label: str
    responses: Shown = Field(description="null: hidden on a public page (under the threshold, or hiding one)")


class QuestionResult(BaseModel, frozen=True):
    id: str
    type: str
    prompt: str
    asked_in: list[int] = Field(description="the versions that ask it")
    buckets: list[BucketCount]
    free_text: bool = Field(description="whether it has texts to list (a text question or an 'other')")


class CrossColumn(BaseModel, frozen=True):
    band: str = Field(description="a band's code, a region's id, @skipped or @unknown")
    label: str


class CrossRow(BaseModel, frozen=True):
    bucket: str
    label: str
    cells: list[Shown]
    total: Shown


class CrossTab(BaseModel, frozen=True):
    question: str
    prompt: str
    rows: list[CrossRow]
    column_totals: list[Shown]
    grand_total: Shown


class CrossTabs(BaseModel, frozen=True):
    by: str = Field(description="a demographics question (age, tenure...) or region")
    label: str
    columns: list[CrossColumn]
    tables: list[CrossTab]


class Results(BaseModel, frozen=True):
    survey_id: UUID
    title: str
    language: str
    threshold: int = Field(description="counts under it are hidden in cross-tabs and on the public page")
    responses: int
    versions: list[VersionCount] = Field(description="the versions the results cover, with their responses")
    questions: list[QuestionResult]
    crosstabs: CrossTabs | None = None


class BandResult(BaseModel, frozen=True):
    band: str
    label: str
    respondents: int
    population: int | None
    respondent_share: float | None
    population_share: float | None
    representation: float | None


class DimensionResult(BaseModel, frozen=True):
    dimension: Dimension
    label: str
    asked: bool = Field(description="whether any version of the survey asks it")
    index: float | None = Field(description="1 - the index of dissimilarity; null without respondents")
    bands: list[BandResult]
    under_represented: list[str] = Field(description="the bands' labels, the most under-represented first")


class RepresentativenessReport(BaseModel, frozen=True):
    survey_id: UUID
    region_id: UUID | None
    region_name: str | None
    dimensions: list[DimensionResult]


class FreeText(BaseModel, frozen=True):
    response_id: UUID
    text: str


class FreeTextPage(BaseModel, frozen=True):
    question: str
    prompt: str
    items: list[FreeText]
    next: UUID | None = Field(description="pass as ?after= for the next page; null on the last")
