"""Who is asking, and whether they may: the one place every service checks role and ownership.

nginx asks engagement about every request's session cookie (``auth_request``) and passes the
answer in two headers, after overwriting whatever a client sent under those names:
``X-Civic-Account-Id`` (absent when nobody is signed in) and ``X-Civic-Roles`` (space-separated
``admin``, ``organizer:<organisation id>``, ``cop_lead:<CoP id>``). The services listen on
loopback only, so these headers come from nginx.

Every handler that needs an account is wrapped in :func:`requires`; one that learns the owner
only after loading the thing calls :func:`check` with ``organisation(id)`` or ``cop(id)``, which
is what :func:`requires` calls too. Admin may do everything,
an organizer only what belongs to their organisations, a CoP lead only what belongs to their CoP.
"""

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.problems import Problem

ACCOUNT_HEADER = "X-Civic-Account-Id"
ROLES_HEADER = "X-Civic-Roles"
SESSION_COOKIE = "civic_session"
# The service that owns accounts and sessions, and the path nginx asks it about each request on.
ACCOUNTS_SERVICE = "engagement"
SESSION_CHECK_PATH = "/internal/session"
LOGIN_PATH = "/login"
_API_PREFIX = "/api/"


class Role(StrEnum):
    ADMIN = "admin"
    ORGANIZER = "organizer"
    COP_LEAD = "cop_lead"


class Grant(BaseModel):
    """One role, with the organisation (organizer) or CoP (lead) it is held in."""

    model_config = ConfigDict(frozen=True)
    role: Role
    scope: UUID | None = Field(
        default=None, description="the organisation (organizer) or CoP (cop_lead); none for admin"
    )

    @model_validator(mode="after")
    def _scoped_unless_admin(self) -> "Grant":
        if (self.role is Role.ADMIN) != (self.scope is None):
            raise ValueError("admin has no scope; organizer and cop_lead need one")
        return self

    def __str__(self) -> str:
        return self.role.value if self.scope is None else f"{self.role.value}:{self.scope}"

    @classmethod
    def parse(cls, text: str) -> "Grant":
        role, _, scope = text.partition(":")
        return cls(role=Role(role), scope=UUID(scope) if scope else None)


class Account(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: UUID
    grants: frozenset[Grant]

    @property
    def is_admin(self) -> bool:
        return Grant(role=Role.ADMIN) in self.grants

    def roles_text(self) -> list[str]:
        return sorted(str(grant) for grant in self.grants)


@dataclass(frozen=True)
class Need:
    """What a request needs: any account, admin, or a role over one organisation or CoP. A
    scoped need without a scope (``ORGANIZER``) is met by that role in any organisation: for a
    list of what the account's own organisations hold, filtered by the handler."""

    role: Role | None = None
    scope: UUID | None = None

    def met_by(self, account: Account) -> bool:
        if account.is_admin or self.role is None:
            return True
        return any(
            grant.role is self.role and (self.scope is None or grant.scope == self.scope)
            for grant in account.grants
        )


ANY_ACCOUNT = Need()
ADMIN = Need(Role.ADMIN)


def organisation(organisation_id: UUID) -> Need:
    return Need(Role.ORGANIZER, organisation_id)


def cop(cop_id: UUID) -> Need:
    return Need(Role.COP_LEAD, cop_id)


def account_of(request: web.Request) -> Account | None:
    """The signed-in account nginx named, or None. Headers that do not parse name nobody."""
    account_id = request.headers.get(ACCOUNT_HEADER)
    if not account_id:
        return None
    try:
        grants = frozenset(Grant.parse(part) for part in request.headers.get(ROLES_HEADER, "").split())
        return Account(id=UUID(account_id), grants=grants)
    except (ValueError, ValidationError):
        return None


def check(request: web.Request, need: Need) -> Account:
    """The account when it meets ``need``. Otherwise: nobody signed in is a 401 problem on the
    API and a redirect to the sign-in page elsewhere; a signed-in account without the role is a
    403 (a problem on the API, an error page elsewhere)."""
    account = account_of(request)
    on_api = request.path.startswith(_API_PREFIX)
    if account is None:
        if on_api:
            raise Problem(401, "Not signed in", "sign in first; this operation needs an account")
        raise web.HTTPSeeOther(f"{LOGIN_PATH}?next={quote(request.path_qs, safe='/')}")
    if not need.met_by(account):
        if on_api:
            raise Problem(403, "Forbidden", "your account's roles do not allow this")
        raise web.HTTPForbidden()
    return account


NEED_ATTRIBUTE = "civic_need"


def requires(need: Need) -> Callable[[Callable[[web.Request], Awaitable[Any]]], Any]:
    """Wrap a handler so nothing of it runs unless ``need`` is met. The wrapped handler carries
    its need (``civic_need``), which tests/test_access_control.py reads from each app's routes."""

    def wrap(handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> Any:
            check(request, need)
            return await handler(request)

        setattr(checked, NEED_ATTRIBUTE, need)
        return checked

    return wrap


def need_of(handler: object) -> Need | None:
    """The need a handler was wrapped with; None for a public one."""
    need = getattr(handler, NEED_ATTRIBUTE, None)
    return need if isinstance(need, Need) else None
