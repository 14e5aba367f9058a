"""The surveys console: the organizer's surveys, a new survey, and a survey's own page (its
title and description, settings, lifecycle, versions, public link, JSON export and import, and
a draft's deletion). The builder's pages are builder.py's. Forms without JavaScript: errors
beside their field with what was typed kept, writes answered 303, all written through
changes.Writer, as the API does."""

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web
from multidict import MultiMapping
from pydantic import ValidationError

from services.surveys.building import store
from services.surveys.building.api import ORGANIZER, own_organisations, public_path, summary_of, survey_of
from services.surveys.building.changes import Invalid, Refused, Writer
from services.surveys.building.console import (
    CONSOLE,
    expired,
    fresh,
    owned,
    page,
    query_of,
    see_other,
    survey_path,
)
from services.surveys.building.editing import Step
from services.surveys.building.models import NewSurvey, SettingsChange, SurveySummary, pages
from services.surveys.building.texts import missing_main, texts_beside, texts_form, with_texts
from shared.auth import Account, check, organisation, requires
from shared.http import POOL
from shared.i18n import gettext_ as _

SETTINGS_FIELDS = ("mode", "access", "region_id", "suppression_threshold", "opens_at", "closes_at")
NEW_FIELDS = ("organisation_id", *SETTINGS_FIELDS, "title_en", "title_es")
MAX_IMPORT_BYTES = 2_000_000


def field_messages() -> dict[str, str]:
    return {
        "organisation_id": _("Choose one of your organisations."),
        "mode": _("Choose how responses are kept."),
        "access": _("Choose who may answer."),
        "region_id": _("Choose a region from the list."),
        "suppression_threshold": _("Enter a whole number from 2 to 100."),
        "opens_at": _("Enter a date and time such as 2030-05-01T09:00, or leave it empty."),
        "closes_at": _("Enter a date and time after the opening, or leave it empty."),
        "title_en": _("Enter the title in English, up to 2000 characters."),
        "title_es": _("Up to 2000 characters."),
        "file": _("Choose a JSON file of a survey document."),
    }


def refusal_message(exc: Refused) -> str:
    return {
        "CLOSED": _("This survey is closed: it can no longer be changed."),
        "STEP": _("Not now: a survey goes from draft to open to closed, never back."),
        "FIXED_WHEN_OPEN": _("Mode and access can be changed only while the survey is a draft."),
        "NOT_FOUND": _("This survey no longer exists."),
        "NOT_DRAFT": _("Only a draft can be deleted: once opened, a survey keeps its responses."),
    }[exc.refusal.name]


def text_message(field: str, main: str) -> str:
    """What to say beside a title or description field the document's rules refused."""
    if field == f"title_{main}":
        return _("Enter the title in the main language, up to 2000 characters.")
    if field == f"description_{main}":
        return _(
            "Up to 2000 characters. A description in another language needs one in the main language too."
        )
    return _("Up to 2000 characters.")


def _moment(text: str) -> str | None:
    """A datetime-local field's value, read as UTC (the form says so); None when empty."""
    return f"{text}:00+00:00" if text and len(text) == 16 else (text or None)


def _typed(data: MultiMapping[Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(data.get(name, "")).strip() for name in names}


def _errors_of(exc: ValidationError) -> dict[str, str]:
    messages = field_messages()
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "closes_at"
        errors.setdefault(field, messages.get(field, str(error["msg"])))
    return errors


def starter_document(title_en: str, title_es: str) -> dict[str, Any]:
    """A new survey's document: its title and a first page with one open question, which the
    builder changes (a page needs at least one question)."""
    title = {language: text for language, text in (("en", title_en), ("es", title_es)) if text}
    return {
        "main_language": "en",
        "languages": ["en", "es"],
        "title": title,
        "sections": [
            {
                "title": {"en": "Questions", "es": "Preguntas"},
                "questions": [
                    {
                        "id": "comments",
                        "type": "long_text",
                        "prompt": {
                            "en": "What would you like to tell us?",
                            "es": "¿Qué le gustaría decirnos?",
                        },
                    }
                ],
            }
        ],
    }


async def _organisations(request: web.Request, account: Account) -> list[dict[str, str]]:
    """The organisations the account may make surveys for, by name (by id until engagement's
    organisation.named has named it)."""
    own = own_organisations(account)
    names = {row["id"]: row["name"] for row in await store.organisation_names(request.app[POOL], own)}
    ids = list(names) if own is None else own
    listed = [{"id": str(i), "name": names.get(i, _("Organisation %(id)s") % {"id": i})} for i in ids]
    return sorted(listed, key=lambda item: item["name"].lower())


async def _regions(request: web.Request) -> list[asyncpg.Record]:
    return await store.regions(request.app[POOL])


@requires(ORGANIZER)
async def surveys_page(request: web.Request) -> web.Response:
    account = check(request, ORGANIZER)
    query = query_of(request)
    rows = await store.surveys(request.app[POOL], query.q, query.offset, own_organisations(account))
    items = [SurveySummary.model_validate(summary_of(row)) for row in rows]
    total = int(rows[0]["total"]) if rows else 0
    return page(request, "building_surveys.html", {"items": items, "query": query, "pages": pages(total)})


async def _new_form(
    request: web.Request, account: Account, typed: dict[str, str], errors: dict[str, str], status: int = 200
) -> web.Response:
    context = {
        "typed": typed,
        "errors": errors,
        "organisations": await _organisations(request, account),
        "regions": await _regions(request),
    }
    return page(request, "building_new.html", context, status)


@requires(ORGANIZER)
async def new_survey_page(request: web.Request) -> web.Response:
    typed = {"mode": "confidential", "access": "public", "suppression_threshold": "5"}
    return await _new_form(request, check(request, ORGANIZER), typed, {})


@requires(ORGANIZER)
async def create_survey(request: web.Request) -> web.Response:
    account = check(request, ORGANIZER)
    data = await request.post()
    typed = _typed(data, NEW_FIELDS)
    if not fresh(request, data):
        return await _new_form(request, account, typed, expired(), 422)
    try:
        new = NewSurvey.model_validate(
            {
                **{name: typed[name] or None for name in ("organisation_id", "mode", "access", "region_id")},
                "suppression_threshold": typed["suppression_threshold"] or 5,
                "opens_at": _moment(typed["opens_at"]),
                "closes_at": _moment(typed["closes_at"]),
                "document": starter_document(typed["title_en"], typed["title_es"]),
            }
        )
    except ValidationError as exc:
        return await _new_form(request, account, typed, _errors_of(exc), 422)
    check(request, organisation(new.organisation_id))
    try:
        survey_id = await Writer.of(request, account).create(new)
    except Invalid as exc:
        errors = {
            "title_es" if ".es" in field else "title_en": field_messages()["title_en"]
            for field, _m in exc.errors
        }
        return await _new_form(request, account, typed, errors, 422)
    return see_other(f"{survey_path(survey_id)}?saved=1")


def settings_typed(row: asyncpg.Record) -> dict[str, str]:
    def moment(value: datetime | None) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""

    return {
        "mode": row["mode"],
        "access": row["access"],
        "region_id": str(row["region_id"] or ""),
        "suppression_threshold": str(row["suppression_threshold"]),
        "results_public": "on" if row["results_public"] else "",
        "opens_at": moment(row["opens_at"]),
        "closes_at": moment(row["closes_at"]),
    }


async def survey_page_of(
    request: web.Request,
    typed: dict[str, str] | None = None,
    errors: dict[str, Any] | None = None,
    status: int = 200,
    texts: dict[str, str] | None = None,
) -> web.Response:
    """The survey's page: ``typed`` the settings form's values, ``texts`` the title and
    description form's (each as stored unless given)."""
    survey_id, _account, row = await owned(request)
    pool = request.app[POOL]
    document = await store.document(pool, survey_id, None)
    if document is None:  # deleted since its row was read
        raise web.HTTPNotFound()
    context = {
        "survey": await survey_of(pool, row),
        "document": document,
        "texts": texts or texts_form(document),
        "typed": typed or settings_typed(row),
        "errors": errors or {},
        "regions": await _regions(request),
        "public_path": public_path(row["slug"]),
    }
    return page(request, "building_survey.html", context, status)


@requires(ORGANIZER)
async def survey_page(request: web.Request) -> web.Response:
    return await survey_page_of(request)


@requires(ORGANIZER)
async def change_settings(request: web.Request) -> web.Response:
    survey_id, account, row = await owned(request)
    data = await request.post()
    typed = {**_typed(data, SETTINGS_FIELDS), "results_public": "on" if data.get("results_public") else ""}
    if not fresh(request, data):
        return await survey_page_of(request, typed, expired(), 422)
    raw: dict[str, Any] = {
        "region_id": typed["region_id"] or None,
        "suppression_threshold": typed["suppression_threshold"],
        "results_public": bool(typed["results_public"]),
        "opens_at": _moment(typed["opens_at"]),
        "closes_at": _moment(typed["closes_at"]),
    }
    if row["status"] == "draft":
        raw.update(mode=typed["mode"] or None, access=typed["access"] or None)
    try:
        changes = SettingsChange.model_validate(raw).model_dump(include=set(raw))
        await Writer.of(request, account).change_settings(survey_id, changes)
    except ValidationError as exc:
        return await survey_page_of(request, typed, _errors_of(exc), 422)
    except Invalid as exc:
        return await survey_page_of(
            request, typed, {field: field_messages()[field] for field, _m in exc.errors}, 422
        )
    except Refused as exc:
        return await survey_page_of(request, typed, {"form": refusal_message(exc)}, 409)
    return see_other(f"{survey_path(survey_id)}?saved=1")


@requires(ORGANIZER)
async def change_texts(request: web.Request) -> web.Response:
    """The title and description, per language, saved as an edit of the document (a draft's
    version replaced, an open survey's next version, a closed one's refused)."""
    survey_id, account, _row = await owned(request)
    document = await store.document(request.app[POOL], survey_id, None)
    if not isinstance(document, dict):  # deleted since its row was read
        raise web.HTTPNotFound()
    data = await request.post()
    typed = {name: str(data.get(name, "")) for name in texts_form(document)}
    if not fresh(request, data):
        return await survey_page_of(request, errors=expired(), status=422, texts=typed)
    changed = with_texts(document, typed)
    try:
        await Writer.of(request, account).save_document(survey_id, changed)
    except Invalid as exc:
        main = document["main_language"]
        beside, elsewhere = texts_beside([*exc.errors, *missing_main(changed)], main)
        errors: dict[str, Any] = {field: text_message(field, main) for field in beside}
        if elsewhere:
            errors["texts"] = elsewhere
        return await survey_page_of(request, errors=errors, status=422, texts=typed)
    except Refused as exc:
        return await survey_page_of(request, errors={"form": refusal_message(exc)}, status=409, texts=typed)
    return see_other(f"{survey_path(survey_id)}?saved=1")


@requires(ORGANIZER)
async def delete_draft(request: web.Request) -> web.Response:
    """A draft deleted for good, once its box says so (a confirmation without JavaScript)."""
    survey_id, account, _row = await owned(request)
    data = await request.post()
    if not fresh(request, data):
        return await survey_page_of(request, errors=expired(), status=422)
    if not data.get("confirm"):
        message = _("Tick the box to delete this draft, or leave it as it is.")
        return await survey_page_of(request, errors={"confirm": message}, status=422)
    try:
        await Writer.of(request, account).delete(survey_id)
    except Refused as exc:
        return await survey_page_of(request, errors={"form": refusal_message(exc)}, status=409)
    return see_other(f"{CONSOLE}?deleted=1")


async def _take(request: web.Request, step: Step, done: str) -> web.Response:
    survey_id, account, _row = await owned(request)
    if not fresh(request, await request.post()):
        return await survey_page_of(request, errors=expired(), status=422)
    try:
        await Writer.of(request, account).take(survey_id, step)
    except Refused as exc:
        return await survey_page_of(request, errors={"form": refusal_message(exc)}, status=409)
    return see_other(f"{survey_path(survey_id)}?{done}=1")


@requires(ORGANIZER)
async def open_survey(request: web.Request) -> web.Response:
    return await _take(request, Step.OPEN, "opened")


@requires(ORGANIZER)
async def close_survey(request: web.Request) -> web.Response:
    return await _take(request, Step.CLOSE, "closed")


@requires(ORGANIZER)
async def export_document(request: web.Request) -> web.Response:
    survey_id, _account, row = await owned(request)
    document = await store.document(request.app[POOL], survey_id, None)
    response = web.Response(
        text=json.dumps(document, ensure_ascii=False, indent=2), content_type="application/json"
    )
    name = f"survey-{row['slug']}-v{row['current_version']}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@requires(ORGANIZER)
async def import_document(request: web.Request) -> web.Response:
    """A JSON file replaces the draft's document (or becomes an open survey's next version);
    every problem listed by its field path."""
    survey_id, account, _row = await owned(request)
    data = await request.post()
    if not fresh(request, data):
        return await survey_page_of(request, errors=expired(), status=422)
    upload = data.get("file")
    raw = upload.file.read(MAX_IMPORT_BYTES + 1) if isinstance(upload, web.FileField) else b""
    try:
        if not raw or len(raw) > MAX_IMPORT_BYTES:
            raise ValueError
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return await survey_page_of(request, errors={"file": field_messages()["file"]}, status=422)
    try:
        await Writer.of(request, account).save_document(survey_id, document)
    except Invalid as exc:
        return await survey_page_of(
            request, errors={"file": field_messages()["file"], "problems": exc.errors}, status=422
        )
    except Refused as exc:
        return await survey_page_of(request, errors={"form": refusal_message(exc)}, status=409)
    return see_other(f"{survey_path(survey_id)}?imported=1")


def add_routes(app: web.Application) -> None:
    app.router.add_get(CONSOLE, surveys_page)
    app.router.add_get(f"{CONSOLE}/new", new_survey_page)
    app.router.add_post(f"{CONSOLE}/new", create_survey)
    app.router.add_get(CONSOLE + "/{survey_id}", survey_page)
    app.router.add_post(CONSOLE + "/{survey_id}", change_settings)
    app.router.add_post(CONSOLE + "/{survey_id}/texts", change_texts)
    app.router.add_post(CONSOLE + "/{survey_id}/delete", delete_draft)
    app.router.add_post(CONSOLE + "/{survey_id}/open", open_survey)
    app.router.add_post(CONSOLE + "/{survey_id}/close", close_survey)
    app.router.add_get(CONSOLE + "/{survey_id}/document.json", export_document)
    app.router.add_post(CONSOLE + "/{survey_id}/import", import_document)
