"""What the accounts API reads and answers. No I/O."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.engagement.people import NAME_PATTERN
from shared.auth import Grant

EMAIL = r"^[^@\s\x00-\x1f\x7f]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$"
# Long enough to be a passphrase, short enough that hashing it costs nothing extra.
PASSWORD_MIN, PASSWORD_MAX = 12, 1024

Email = Annotated[str, StringConstraints(pattern=EMAIL, max_length=320), AfterValidator(str.lower)]
DisplayName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, max_length=200), AfterValidator(str.strip)
]
Password = Annotated[str, StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]


class NewAccount(BaseModel):
    """An account an admin creates: an organizer, a CoP lead or another admin."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    email: Email
    display_name: DisplayName
    password: Password
    roles: list[Grant] = Field(max_length=100)


class AccountView(BaseModel):
    id: UUID
    email: str
    display_name: str
    roles: list[str] = Field(description="admin, organizer:<organisation id>, cop_lead:<CoP id>")
    disabled: bool


class AccountSummary(AccountView):
    """An account as an admin's list shows it, each scoped role with what it is held over."""

    names: dict[str, str] = Field(
        default_factory=dict,
        description="per scoped role, the organisation's name or the CoP's topic (none: no longer found)",
    )


class AccountList(BaseModel):
    items: list[AccountSummary]
    page: int
    pages: int = Field(description="how many pages the search fills (at least 1)")


class AccountStatus(BaseModel):
    """Disable an account (its sessions end at once) or enable it again."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    disabled: bool


class AuditEntry(BaseModel):
    id: int
    at: datetime
    account_id: UUID
    roles: list[str]
    action: str
    target: str
    service: str
    request_id: str


class AuditLog(BaseModel):
    entries: list[AuditEntry] = Field(description="the latest first")
