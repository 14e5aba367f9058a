"""The builder: a survey's questions added, changed, moved and deleted one at a time, pages
added, the standard demographics section and further languages, all without JavaScript. Each
write makes a whole new document and saves it through changes.Writer, by the API's rules (a
draft's version replaced, an open survey's new version); its problems are shown beside the
field that caused them."""

from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web
from multidict import MultiMapping

from services.surveys.building import store
from services.surveys.building.api import ORGANIZER
from services.surveys.building.builder_forms import (
    QUESTION_TYPES,
    errors_beside,
    form_from_question,
    moved,
    place,
    question_from_form,
    with_question,
    without_question,
)
from services.surveys.building.changes import Invalid, Refused, Writer
from services.surveys.building.console import expired, fresh, owned, page, see_other, survey_path
from services.surveys.building.definition import as_json, demographics_section
from services.surveys.building.pages import refusal_message, survey_page_of
from shared.auth import Account, requires
from shared.http import POOL
from shared.i18n import gettext_ as _

NEW_PAGE = "new"


def _typed(data: MultiMapping[Any]) -> dict[str, str]:
    return {name: str(value) for name, value in data.items() if name != "csrf"}


async def _document(request: web.Request) -> tuple[UUID, Account, asyncpg.Record, dict[str, Any]]:
    """The survey the path names (once it is the account's) and its current document."""
    survey_id, account, row = await owned(request)
    document = await store.document(request.app[POOL], survey_id, None)
    assert isinstance(document, dict)  # every survey has its current version
    return survey_id, account, row, document


async def _question_form(
    request: web.Request,
    document: dict[str, Any],
    typed: dict[str, str],
    errors: dict[str, str],
    kind: str,
    editing: str | None,
    status: int = 200,
) -> web.Response:
    survey_id = request.match_info["survey_id"]
    found = place(document, editing) if editing else None
    limit = found if found else (len(document["sections"]), 0)
    earlier = [
        question["id"]
        for s, section in enumerate(document["sections"])
        for q, question in enumerate(section["questions"])
        if (s, q) < limit
    ]
    context = {
        "survey_id": survey_id,
        "document": document,
        "typed": typed,
        "errors": errors,
        "kind": kind,
        "editing": editing,
        "earlier": earlier,
        "new_page": NEW_PAGE,
    }
    return page(request, "building_question.html", context, status)


async def _save(request: web.Request, document: dict[str, Any], at: tuple[int, int]) -> dict[str, str] | None:
    """Save the document; None when saved, else the errors beside the question's fields."""
    survey_id, account, _row = await owned(request)
    try:
        await Writer.of(request, account).save_document(survey_id, document)
    except Invalid as exc:
        return errors_beside(exc.errors, *at, document["main_language"])
    except Refused as exc:
        return {"form": refusal_message(exc)}
    return None


def _kind_of(request: web.Request, data: MultiMapping[Any] | None = None) -> str:
    kind = str((data.get("type") if data is not None else None) or request.query.get("type", ""))
    if kind not in QUESTION_TYPES:
        raise web.HTTPNotFound()
    return kind


@requires(ORGANIZER)
async def new_question_page(request: web.Request) -> web.Response:
    _survey_id, _account, _row, document = await _document(request)
    typed = {"section": request.query.get("section", str(len(document["sections"]) - 1))}
    return await _question_form(request, document, typed, {}, _kind_of(request), None)


@requires(ORGANIZER)
async def add_question(request: web.Request) -> web.Response:
    survey_id, _account, _row, document = await _document(request)
    data = await request.post()
    kind, typed = _kind_of(request, data), _typed(data)
    if not fresh(request, data):
        return await _question_form(request, document, typed, expired(), kind, None, 422)
    question = question_from_form(typed, kind, document["languages"], document["main_language"], None)
    section = typed.get("section", "")
    changed = dict(document)
    if section == NEW_PAGE:
        title = {
            language: typed.get(f"section_title_{language}", "").strip()
            for language in document["languages"]
            if typed.get(f"section_title_{language}", "").strip()
        }
        changed["sections"] = [*document["sections"], {"title": title, "questions": []}]
        s = len(document["sections"])
    elif section.isdigit() and int(section) < len(document["sections"]):
        s = int(section)
    else:
        return await _question_form(
            request, document, typed, {"section": _("Choose a page.")}, kind, None, 422
        )
    at = (s, len(changed["sections"][s]["questions"]))
    errors = await _save(request, with_question(changed, s, None, question, replace=False), at)
    if errors:
        if section == NEW_PAGE and any(key == "form" for key in errors):
            errors.setdefault("section", errors["form"])
        return await _question_form(request, document, typed, errors, kind, None, 422)
    return see_other(f"{survey_path(survey_id)}?added=1#question-{question['id']}")


def _question_id(
    request: web.Request, document: dict[str, Any]
) -> tuple[str, tuple[int, int], dict[str, Any]]:
    question_id = request.match_info["question_id"]
    found = place(document, question_id)
    if found is None:
        raise web.HTTPNotFound()
    return question_id, found, document["sections"][found[0]]["questions"][found[1]]


@requires(ORGANIZER)
async def edit_question_page(request: web.Request) -> web.Response:
    _survey_id, _account, _row, document = await _document(request)
    question_id, _at, question = _question_id(request, document)
    typed = form_from_question(question, document["languages"])
    return await _question_form(request, document, typed, {}, question["type"], question_id)


@requires(ORGANIZER)
async def change_question(request: web.Request) -> web.Response:
    survey_id, _account, _row, document = await _document(request)
    question_id, at, before = _question_id(request, document)
    data = await request.post()
    typed, kind = _typed(data), before["type"]
    if not fresh(request, data):
        return await _question_form(request, document, typed, expired(), kind, question_id, 422)
    question = question_from_form(typed, kind, document["languages"], document["main_language"], before)
    errors = await _save(request, with_question(document, at[0], at[1], question, replace=True), at)
    if errors:
        return await _question_form(request, document, typed, errors, kind, question_id, 422)
    return see_other(f"{survey_path(survey_id)}?saved=1#question-{question['id']}")


async def _rewrite(request: web.Request, change: Any, done: str) -> web.Response:
    """A write of the survey page's own buttons: on a problem, the survey page with it listed."""
    survey_id, account, _row, document = await _document(request)
    data = await request.post()
    if not fresh(request, data):
        return await survey_page_of(request, errors=expired(), status=422)
    changed = change(document, data)
    try:
        await Writer.of(request, account).save_document(survey_id, changed)
    except Invalid as exc:
        return await survey_page_of(request, errors={"builder": exc.errors}, status=422)
    except Refused as exc:
        return await survey_page_of(request, errors={"form": refusal_message(exc)}, status=409)
    return see_other(f"{survey_path(survey_id)}?{done}=1")


@requires(ORGANIZER)
async def delete_question(request: web.Request) -> web.Response:
    return await _rewrite(
        request,
        lambda document, _data: without_question(document, request.match_info["question_id"]),
        "deleted",
    )


@requires(ORGANIZER)
async def move_up(request: web.Request) -> web.Response:
    return await _rewrite(
        request, lambda document, _data: moved(document, request.match_info["question_id"], -1), "moved"
    )


@requires(ORGANIZER)
async def move_down(request: web.Request) -> web.Response:
    return await _rewrite(
        request, lambda document, _data: moved(document, request.match_info["question_id"], 1), "moved"
    )


def _with_demographics(document: dict[str, Any], _data: object) -> dict[str, Any]:
    try:
        section = as_json(demographics_section(document["languages"]))
    except ValueError:
        section = {"title": {}, "questions": []}  # refused by the rules: said on the page
    return {**document, "sections": [*document["sections"], section]}


@requires(ORGANIZER)
async def add_demographics(request: web.Request) -> web.Response:
    return await _rewrite(request, _with_demographics, "added")


def _with_language(document: dict[str, Any], data: MultiMapping[Any]) -> dict[str, Any]:
    """The document in one more language (a code such as ``fr``: the rules check it); its texts
    fall back to the main language until translated."""
    return {**document, "languages": [*document["languages"], str(data.get("language", "")).strip().lower()]}


@requires(ORGANIZER)
async def add_language(request: web.Request) -> web.Response:
    return await _rewrite(request, _with_language, "added")


def add_routes(app: web.Application) -> None:
    base = "/surveys/console/{survey_id}"
    app.router.add_get(base + "/questions/new", new_question_page)
    app.router.add_post(base + "/questions/new", add_question)
    app.router.add_get(base + "/questions/{question_id}", edit_question_page)
    app.router.add_post(base + "/questions/{question_id}", change_question)
    app.router.add_post(base + "/questions/{question_id}/delete", delete_question)
    app.router.add_post(base + "/questions/{question_id}/up", move_up)
    app.router.add_post(base + "/questions/{question_id}/down", move_down)
    app.router.add_post(base + "/demographics", add_demographics)
    app.router.add_post(base + "/languages", add_language)
