"""The survey a request names, once it belongs to the signed-in account: the one check every
organizer page and operation of surveys makes before reading or writing a survey. 404 when
there is no such survey (problem+json on the API, the not-found page elsewhere), then 403 when
it is another organisation's (shared/auth.py decides who may)."""

from collections.abc import Awaitable, Callable
from uuid import UUID

import asyncpg
from aiohttp import web

from shared.auth import Account, check, organisation
from shared.http import API_PREFIX, POOL
from shared.problems import Problem

# Each domain reads the survey's columns it needs.
Load = Callable[[asyncpg.Pool, UUID], Awaitable[asyncpg.Record | None]]


async def owned(
    request: web.Request, load: Load, survey_id: UUID | None = None
) -> tuple[Account, asyncpg.Record]:
    """The account and the survey ``survey_id`` (the path's ``survey_id`` when None)."""
    if survey_id is None:
        try:
            survey_id = UUID(request.match_info["survey_id"])
        except ValueError:
            raise _not_found(request) from None
    row = await load(request.app[POOL], survey_id)
    if row is None:
        raise _not_found(request)
    return check(request, organisation(row["organisation_id"])), row


def _not_found(request: web.Request) -> Exception:
    if request.path.startswith(API_PREFIX):
        return Problem(404, "Not found", "no such survey")
    return web.HTTPNotFound()
