"""The building JSON API: organizers create, edit, version, open and close their
organisations' surveys, and delete their drafts; admins all. Every write loads the survey and
checks the caller holds the organizer role over its organisation (``owned``) before anything is
written."""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.surveys import ownership
from services.surveys.building import store
from services.surveys.building.changes import Invalid, Refused, Writer
from services.surveys.building.editing import Step
from services.surveys.building.lifecycle import phase
from services.surveys.building.models import (
    Document,
    NewSurvey,
    Query,
    Schedule,
    SettingsChange,
    Survey,
    SurveyList,
    SurveySummary,
    Version,
    pages,
)
from shared.auth import Account, Need, Role, check, organisation, requires
from shared.http import POOL
from shared.openapi import Operation
from shared.problems import Problem, parse_json, validation_problem

ORGANIZER = Need(Role.ORGANIZER)
SURVEYS = "/api/v1/surveys"
SURVEY = SURVEYS + "/{survey_id}"
# Routed only for what may be a UUID (with or without its dashes): /api/v1/surveys/tally is
# another resource, which a bare {survey_id} would also match (its 405 then offered a PATCH).
_ROUTED = SURVEYS + "/{survey_id:[0-9A-Fa-f-]{32,36}}"


def public_path(slug: str) -> str:
    return f"/surveys/s/{slug}"


def summary_of(row: asyncpg.Record) -> dict[str, Any]:
    """A survey's row as its summary's fields, with its phase now."""
    return {
        **dict(row),
        "phase": phase(row["status"], row["opens_at"], row["closes_at"], datetime.now(UTC)),
        "public_path": public_path(row["slug"]),
    }


def own_organisations(account: Account) -> list[UUID] | None:
    """The organisations whose surveys the account works on; None: every one (an admin)."""
    if account.is_admin:
        return None
    return [grant.scope for grant in account.grants if grant.role is Role.ORGANIZER and grant.scope]


async def owned(request: web.Request, survey_id: UUID) -> tuple[Account, asyncpg.Record]:
    """The account and the survey, once the survey is known to be the account's (404, 403)."""
    return await ownership.owned(request, store.survey, survey_id)


async def survey_of(pool: asyncpg.Pool, row: asyncpg.Record) -> Survey:
    versions = [Version.model_validate(dict(v)) for v in await store.versions(pool, row["id"])]
    return Survey.model_validate({**summary_of(row), "versions": versions})


def survey_id_of(request: web.Request) -> UUID:
    try:
        return UUID(request.match_info["survey_id"])
    except ValueError:
        raise Problem(404, "Not found", "no such survey") from None


def invalid(exc: Invalid) -> Problem:
    errors = [{"field": field, "message": message} for field, message in exc.errors]
    fields = ", ".join(sorted({field for field, _ in exc.errors}))
    return Problem(422, "Invalid survey", f"check these fields: {fields}", errors=errors)


def refused(exc: Refused) -> Problem:
    status, detail = exc.refusal.value
    return Problem(status, "Refused", detail)


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(text=model.model_dump_json(), status=status, content_type="application/json")


async def _answer(request: web.Request, survey_id: UUID, status: int = 200) -> web.Response:
    pool = request.app[POOL]
    row = await store.survey(pool, survey_id)
    if row is None:
        raise Problem(404, "Not found", "no such survey")
    response = _json(await survey_of(pool, row), status)
    response.headers["Location"] = f"{SURVEYS}/{survey_id}"
    return response


@requires(ORGANIZER)
async def list_surveys(request: web.Request) -> web.Response:
    account = check(request, ORGANIZER)
    try:
        query = Query.model_validate(dict(request.query))
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    rows = await store.surveys(request.app[POOL], query.q, query.offset, own_organisations(account))
    items = [SurveySummary.model_validate(summary_of(row)) for row in rows]
    total = int(rows[0]["total"]) if rows else 0
    return _json(SurveyList(items=items, page=query.page, pages=pages(total)))


@requires(ORGANIZER)
async def create_survey(request: web.Request) -> web.Response:
    new = await parse_json(request, NewSurvey)
    writer = Writer.of(request, check(request, organisation(new.organisation_id)))
    try:
        survey_id = await writer.create(new)
    except Invalid as exc:
        raise invalid(exc) from exc
    return await _answer(request, survey_id, 201)


@requires(ORGANIZER)
async def get_survey(request: web.Request) -> web.Response:
    survey_id = survey_id_of(request)
    await owned(request, survey_id)
    return await _answer(request, survey_id)


@requires(ORGANIZER)
async def get_document(request: web.Request) -> web.Response:
    survey_id = survey_id_of(request)
    await owned(request, survey_id)
    version = request.query.get("version")
    if version is not None and not (version.isdigit() and 0 < int(version) < 2**31):
        raise Problem(
            422,
            "Invalid request",
            "version must be a version number",
            errors=[{"field": "version", "message": "must be a whole number from 1"}],
        )
    document = await store.document(request.app[POOL], survey_id, None if version is None else int(version))
    if document is None:
        raise Problem(404, "Not found", "no such version of this survey")
    return web.Response(text=json.dumps(document, ensure_ascii=False), content_type="application/json")


async def _write(request: web.Request, survey_id: UUID, account: Account, write: Any) -> web.Response:
    try:
        await write(Writer.of(request, account))
    except Invalid as exc:
        raise invalid(exc) from exc
    except Refused as exc:
        raise refused(exc) from exc
    return await _answer(request, survey_id)


@requires(ORGANIZER)
async def put_document(request: web.Request) -> web.Response:
    survey_id = survey_id_of(request)
    account, _ = await owned(request, survey_id)
    document = (await parse_json(request, Document)).root
    return await _write(request, survey_id, account, lambda writer: writer.save_document(survey_id, document))


@requires(ORGANIZER)
async def patch_survey(request: web.Request) -> web.Response:
    survey_id = survey_id_of(request)
    account, _ = await owned(request, survey_id)
    change = await parse_json(request, SettingsChange)
    changes = change.model_dump(exclude_unset=True)
    for name in ("mode", "access", "suppression_threshold", "results_public"):
        if name in changes and changes[name] is None:
            raise invalid(Invalid([(name, "cannot be null: leave it out to keep it")]))
    return await _write(
        request, survey_id, account, lambda writer: writer.change_settings(survey_id, changes)
    )


async def _step(request: web.Request, step: Step) -> web.Response:
    survey_id = survey_id_of(request)
    account, _ = await owned(request, survey_id)
    schedule = await parse_json(request, Schedule) if request.body_exists else None
    return await _write(request, survey_id, account, lambda writer: writer.take(survey_id, step, schedule))


@requires(ORGANIZER)
async def open_survey(request: web.Request) -> web.Response:
    return await _step(request, Step.OPEN)


@requires(ORGANIZER)
async def close_survey(request: web.Request) -> web.Response:
    return await _step(request, Step.CLOSE)


@requires(ORGANIZER)
async def delete_survey(request: web.Request) -> web.Response:
    survey_id = survey_id_of(request)
    account, _ = await owned(request, survey_id)
    try:
        await Writer.of(request, account).delete(survey_id)
    except Refused as exc:
        raise refused(exc) from exc
    return web.Response(status=204)


OPERATIONS = (
    Operation(
        "GET",
        SURVEYS,
        "Your organisations' surveys (all, for admins), searched by title (?q=) a page at a time (?page=)",
        response=SurveyList,
        problems=(422,),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        SURVEYS,
        "Create a draft survey for one of your organisations from its document",
        request=NewSurvey,
        response=Survey,
        status=201,
        need=ORGANIZER,
    ),
    Operation(
        "GET",
        SURVEY,
        "One survey: settings, phase, versions",
        response=Survey,
        problems=(404,),
        need=ORGANIZER,
    ),
    Operation(
        "PATCH",
        SURVEY,
        "Change a survey's settings (mode and access only while a draft: else 409)",
        request=SettingsChange,
        response=Survey,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "DELETE",
        SURVEY,
        "Delete a draft with everything kept of it (409 once it has been opened: its responses stay)",
        status=204,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "GET",
        SURVEY + "/document",
        "A version's document (?version=; the current one without), as it was written",
        response=Document,
        problems=(404, 422),
        need=ORGANIZER,
    ),
    Operation(
        "PUT",
        SURVEY + "/document",
        "Replace a draft's document, or add a version to an open survey (409 once closed)",
        request=Document,
        response=Survey,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        SURVEY + "/open",
        "Open a draft, optionally scheduled (opens_at, closes_at)",
        request=Schedule,
        response=Survey,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        SURVEY + "/close",
        "Close an open survey",
        response=Survey,
        problems=(404, 409),
        need=ORGANIZER,
    ),
)


def add_routes(app: web.Application) -> None:
    app.router.add_get(SURVEYS, list_surveys)
    app.router.add_post(SURVEYS, create_survey)
    app.router.add_get(_ROUTED, get_survey)
    app.router.add_patch(_ROUTED, patch_survey)
    app.router.add_delete(_ROUTED, delete_survey)
    app.router.add_get(SURVEY + "/document", get_document)
    app.router.add_put(SURVEY + "/document", put_document)
    app.router.add_post(SURVEY + "/open", open_survey)
    app.router.add_post(SURVEY + "/close", close_survey)
