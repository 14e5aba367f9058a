"""The decisions JSON API and the ledger's. Reading is public: anyone may read a decision, its
record and the whole ledger, and verify it. Writing needs the organizer role over the
decision's organisation (an admin: any), checked on the organisation the body names before a
decision exists, and on the decision's own once it does."""

from typing import TypeVar
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.engagement.community.api import ORGANIZER, _json, path_id, total
from services.engagement.community.models import Query
from services.engagement.decisions import competition_api, ledger_store, store
from services.engagement.decisions.changes import Refused, Writer
from services.engagement.decisions.http import DECISION, DECISIONS, _answer, _write, refused
from services.engagement.decisions.ledger import line_of
from services.engagement.decisions.models import (
    Assessment,
    Closing,
    ConsultationLink,
    DecisionFields,
    DecisionList,
    Recording,
    Stage,
)
from services.engagement.decisions.views import (
    DecisionRecord,
    Verification,
    decision_of,
    record_of,
    verification,
)
from shared.auth import check, organisation, requires
from shared.http import POOL
from shared.openapi import Operation
from shared.problems import Problem, parse_json, validation_problem

B = TypeVar("B", bound=BaseModel)


class DecisionQuery(Query):
    region_id: UUID | None = None
    stage: Stage | None = None


class StageMove(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    to: Stage = Field(description="the next stage: consultation, deliberation, implementing or evaluated")


class ConsultationClosing(ConsultationLink, Closing):
    pass


async def list_decisions(request: web.Request) -> web.Response:
    try:
        query = DecisionQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    rows = await store.decisions(
        request.app[POOL], query.q, query.offset, region_id=query.region_id, stage=query.stage
    )
    pages = max(1, -(-total(rows) // 25))
    return _json(DecisionList(items=[decision_of(row) for row in rows], page=query.page, pages=pages))


async def get_decision(request: web.Request) -> web.Response:
    record = await record_of(request.app[POOL], path_id(request, "decision_id"))
    if record is None:
        raise Problem(404, "Not found", "no such decision")
    return _json(record)


async def ledger_verification(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        return _json(await verification(conn))


async def ledger_export(request: web.Request) -> web.StreamResponse:
    """The whole chain as JSON Lines, streamed from the first entry to the head."""
    response = web.StreamResponse(headers={"Content-Type": "application/jsonl; charset=utf-8"})
    response.headers["Content-Disposition"] = 'attachment; filename="ledger.jsonl"'
    await response.prepare(request)
    async with (
        request.app[POOL].acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        async for entry in ledger_store.entries(conn):
            await response.write(line_of(entry))
    await response.write_eof()
    return response


@requires(ORGANIZER)
async def create_decision(request: web.Request) -> web.Response:
    fields = await parse_json(request, DecisionFields)
    writer = Writer.of(request, check(request, organisation(fields.organisation_id)))
    try:
        decision_id = await writer.create(fields)
    except Refused as exc:
        raise refused(exc) from exc
    return await _answer(request, decision_id, 201)


@requires(ORGANIZER)
async def edit_decision(request: web.Request) -> web.Response:
    return await _write(request, DecisionFields, Writer.edit)


async def _close(writer: Writer, decision_id: UUID, closing: ConsultationClosing) -> None:
    link = ConsultationLink(kind=closing.kind, target_id=closing.target_id)
    await writer.close(decision_id, link, Closing(what_we_heard=closing.what_we_heard))


@requires(ORGANIZER)
async def move_decision(request: web.Request) -> web.Response:
    return await _write(
        request, StageMove, lambda writer, decision_id, move: writer.move_on(decision_id, move.to)
    )


@requires(ORGANIZER)
async def link_consultation(request: web.Request) -> web.Response:
    return await _write(request, ConsultationLink, Writer.link)


@requires(ORGANIZER)
async def close_consultation(request: web.Request) -> web.Response:
    return await _write(request, ConsultationClosing, _close)


@requires(ORGANIZER)
async def write_assessment(request: web.Request) -> web.Response:
    return await _write(request, Assessment, Writer.assess)


@requires(ORGANIZER)
async def record_outcome(request: web.Request) -> web.Response:
    return await _write(request, Recording, Writer.record)


LEDGER = "/api/v1/ledger"

OPERATIONS = (
    Operation(
        "GET",
        DECISIONS,
        "Decisions, newest first, of a region (?region_id=) and stage (?stage=), searched by title (?q=)",
        response=DecisionList,
        problems=(422,),
        public=True,
    ),
    Operation(
        "GET",
        DECISION,
        "A decision's public record: stages, consultations, participation, assessment, votes, ledger",
        response=DecisionRecord,
        problems=(404,),
        public=True,
    ),
    Operation(
        "GET",
        LEDGER + "/verification",
        "Verify the whole ledger: its entries, its head hash, the first bad entry if any",
        response=Verification,
        public=True,
    ),
    Operation(
        "GET",
        LEDGER + "/export",
        "The whole ledger as JSON Lines (README: the verification procedure)",
        public=True,
    ),
    Operation(
        "POST",
        DECISIONS,
        "Propose a decision for one of your organisations",
        request=DecisionFields,
        response=DecisionRecord,
        status=201,
        need=ORGANIZER,
    ),
    Operation(
        "PUT",
        DECISION,
        "Edit a decision's details, as proposed, until its outcome is recorded (then 409: correct "
        "an entry instead); a ledger entry names each field changed, before and after",
        request=DecisionFields,
        response=DecisionRecord,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        DECISION + "/stage",
        "Move a decision on to its next stage (not to decided: record the outcome)",
        request=StageMove,
        response=DecisionRecord,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        DECISION + "/consultations",
        "Link a survey or a meeting as a consultation",
        request=ConsultationLink,
        response=DecisionRecord,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        DECISION + "/consultations/close",
        "Close a consultation: count its participation, keep what was heard",
        request=ConsultationClosing,
        response=DecisionRecord,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "PUT",
        DECISION + "/assessment",
        "Write the equity impact assessment (before the outcome)",
        request=Assessment,
        response=DecisionRecord,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        DECISION + "/outcome",
        "Record the outcome, each member's vote and how input was used (409 until assessed)",
        request=Recording,
        response=DecisionRecord,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    *competition_api.OPERATIONS,
)


def add_routes(app: web.Application) -> None:
    app.router.add_get(DECISIONS, list_decisions)
    app.router.add_post(DECISIONS, create_decision)
    app.router.add_get(DECISION, get_decision)
    app.router.add_put(DECISION, edit_decision)
    app.router.add_post(DECISION + "/stage", move_decision)
    app.router.add_post(DECISION + "/consultations", link_consultation)
    app.router.add_post(DECISION + "/consultations/close", close_consultation)
    app.router.add_put(DECISION + "/assessment", write_assessment)
    app.router.add_post(DECISION + "/outcome", record_outcome)
    app.router.add_get(LEDGER + "/verification", ledger_verification)
    app.router.add_get(LEDGER + "/export", ledger_export)
    competition_api.add_routes(app)
