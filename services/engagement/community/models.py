"""What the organisations and CoPs API reads and answers. No I/O."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.engagement.accounts.models import DisplayName, Email

PAGE_SIZE = 25
# Line breaks and tabs are text; other controls (and NUL, which PostgreSQL refuses) are not.
DESCRIPTION_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Description = Annotated[
    str, StringConstraints(pattern=DESCRIPTION_PATTERN, max_length=2000, strip_whitespace=True)
]
Search = Annotated[
    str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]*$", max_length=200, strip_whitespace=True)
]


class OrganisationKind(StrEnum):
    NONPROFIT = "nonprofit"
    GOVERNMENT = "government"
    BUSINESS = "business"
    UNIVERSITY = "university"
    UNION = "union"
    OTHER = "other"


class OrganisationFields(BaseModel):
    """An organisation as an admin creates it or its organizer edits it (all of it each time)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: DisplayName
    kind: OrganisationKind
    region_id: UUID | None = Field(default=None, description="its home region (GET /api/v1/regions)")


class Organisation(OrganisationFields):
    model_config = ConfigDict(extra="ignore")  # read from rows, which carry a list's total
    id: UUID
    region_name: str | None
    is_demo: bool
    updated_at: datetime


class CopFields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    topic: DisplayName
    description: Description = ""


class Cop(CopFields):
    model_config = ConfigDict(extra="ignore")
    id: UUID
    members: int
    pending_requests: int
    is_demo: bool
    updated_at: datetime


class NewMember(BaseModel):
    """A registered person (by id) or an organisation joins a CoP."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    person_id: UUID | None = None
    organisation_id: UUID | None = None

    @model_validator(mode="after")
    def _one_of_them(self) -> Self:
        if (self.person_id is None) == (self.organisation_id is None):
            raise ValueError("name either person_id or organisation_id")
        return self


class Member(BaseModel):
    id: UUID
    person_id: UUID | None
    organisation_id: UUID | None
    name: str
    added_at: datetime


class JoinRequest(BaseModel):
    """What a resident sends from a CoP's public page: no account, a pending request only."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: DisplayName
    email: Email


class Query(BaseModel):
    """A list's search text and page (1-based), from the query string."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    q: Search = ""
    page: int = Field(default=1, ge=1, le=100_000)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


class OrganisationList(BaseModel):
    items: list[Organisation]
    page: int
    pages: int = Field(description="how many pages the search fills (at least 1)")


class CopList(BaseModel):
    items: list[Cop]
    page: int
    pages: int


class MemberList(BaseModel):
    items: list[Member]
    page: int
    pages: int


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))
