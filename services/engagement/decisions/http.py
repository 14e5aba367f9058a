"""What the decisions' API handlers share: the writer for the decision in the path, a write
read and answered with the decision's record, a refusal as a problem."""

from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from services.engagement.community.api import _json, path_id
from services.engagement.decisions import store
from services.engagement.decisions.changes import Refused, Writer
from services.engagement.decisions.views import record_of
from shared.auth import check, organisation
from shared.http import POOL
from shared.problems import Problem, parse_json, refusal

B = TypeVar("B", bound=BaseModel)
DECISIONS = "/api/v1/decisions"
DECISION = DECISIONS + "/{decision_id}"


def refused(exc: Refused) -> Problem:
    return refusal(exc.status, exc.detail, exc.field)


async def _writer(request: web.Request, decision_id: UUID) -> Writer:
    """The writer for the decision's organisation; 404 before 403, as elsewhere."""
    row = await store.decision(request.app[POOL], decision_id)
    if row is None:
        raise Problem(404, "Not found", "no such decision")
    return Writer.of(request, check(request, organisation(row["organisation_id"])))


async def _answer(request: web.Request, decision_id: UUID, status: int = 200) -> web.Response:
    record = await record_of(request.app[POOL], decision_id)
    assert record is not None  # decisions are never deleted
    response = _json(record, status)
    response.headers["Location"] = f"{DECISIONS}/{decision_id}"
    return response


async def _write(
    request: web.Request, body: type[B], write: Callable[[Writer, UUID, B], Awaitable[object]]
) -> web.Response:
    """A write to the decision in the path: found (404), the account's (403), the body read
    (problems naming the field), written (a refusal as a problem), answered with its record."""
    decision_id = path_id(request, "decision_id")
    writer = await _writer(request, decision_id)
    parsed = await parse_json(request, body)
    try:
        await write(writer, decision_id, parsed)
    except Refused as exc:
        raise refused(exc) from exc
    return await _answer(request, decision_id)
