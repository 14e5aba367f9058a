"""A competition's API, under its decision (``/api/v1/decisions/{id}/...``): its places and
criteria, applications, conflicts of interest, reviewers' scores; and corrections of any
decision's ledger entries. Organizers of the decision's organisation write (admins: any); the
decision's public record (``GET /api/v1/decisions/{id}``) holds the competition too."""

from collections.abc import Awaitable, Callable
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from services.engagement.community.api import ORGANIZER, _json, path_id
from services.engagement.decisions.changes import Refused, Writer
from services.engagement.decisions.competition import (
    ApplicationFields,
    CompetitionFields,
    Conflict,
    ScoreSheet,
)
from services.engagement.decisions.competition_changes import CompetitionWriter
from services.engagement.decisions.http import DECISION, B, _write, _writer, refused
from services.engagement.decisions.models import Correction
from services.engagement.decisions.views import DecisionRecord
from shared.auth import requires
from shared.openapi import Operation
from shared.problems import parse_json


class ApplicationReceived(BaseModel):
    id: UUID
    decision_id: UUID


def _competition(writer: Writer) -> CompetitionWriter:
    return CompetitionWriter(writer.pool, writer.account, writer.service, writer.request_id)


@requires(ORGANIZER)
async def set_competition(request: web.Request) -> web.Response:
    return await _write(
        request,
        CompetitionFields,
        lambda writer, decision_id, fields: _competition(writer).set_competition(decision_id, fields),
    )


@requires(ORGANIZER)
async def receive_application(request: web.Request) -> web.Response:
    decision_id = path_id(request, "decision_id")
    writer = _competition(await _writer(request, decision_id))
    fields = await parse_json(request, ApplicationFields)
    try:
        application_id = await writer.receive(decision_id, fields)
    except Refused as exc:
        raise refused(exc) from exc
    response = _json(ApplicationReceived(id=application_id, decision_id=decision_id), 201)
    response.headers["Location"] = f"/api/v1/decisions/{decision_id}"
    return response


def _on_application(
    body: type[B], step: Callable[[CompetitionWriter, UUID, UUID, B], Awaitable[object]]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A write about the application in the path: a conflict declared, or a score sheet."""

    @requires(ORGANIZER)
    async def handle(request: web.Request) -> web.Response:
        application_id = path_id(request, "application_id")
        return await _write(
            request,
            body,
            lambda writer, decision_id, parsed: step(
                _competition(writer), decision_id, application_id, parsed
            ),
        )

    return handle


declare_conflict = _on_application(Conflict, CompetitionWriter.declare)
score_application = _on_application(ScoreSheet, CompetitionWriter.score)


@requires(ORGANIZER)
async def correct_entry(request: web.Request) -> web.Response:
    return await _write(request, Correction, Writer.correct)


APPLICATION = DECISION + "/applications/{application_id}"

OPERATIONS = (
    Operation(
        "PUT",
        DECISION + "/competition",
        "Set a competition's places and weighted criteria (a review panel's decision; before any score)",
        request=CompetitionFields,
        response=DecisionRecord,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        DECISION + "/applications",
        "Receive a community's application to the competition, with its documents",
        request=ApplicationFields,
        response=ApplicationReceived,
        status=201,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        APPLICATION + "/conflicts",
        "Declare a reviewer's conflict of interest with an application: they never score it",
        request=Conflict,
        response=DecisionRecord,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        APPLICATION + "/scores",
        "A reviewer's scores of an application, one per criterion (409 when they declared a conflict)",
        request=ScoreSheet,
        response=DecisionRecord,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        DECISION + "/corrections",
        "Correct an entry of the decision's ledger: a new entry naming it, who and why",
        request=Correction,
        response=DecisionRecord,
        problems=(404, 422),
        need=ORGANIZER,
    ),
)


def add_routes(app: web.Application) -> None:
    app.router.add_put(DECISION + "/competition", set_competition)
    app.router.add_post(DECISION + "/applications", receive_application)
    app.router.add_post(APPLICATION + "/conflicts", declare_conflict)
    app.router.add_post(APPLICATION + "/scores", score_application)
    app.router.add_post(DECISION + "/corrections", correct_entry)
