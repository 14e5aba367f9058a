"""The console's invitations page of a survey: how many were issued and used (a flag: when is
never kept), and a form to invite people by their ids, pasted one per line. Without JavaScript:
an error beside the field with what was typed kept (422, or 409 when the survey takes no
invitations now), a write answered 303 back to the page saying what it did, an expired form
(CSRF) 422 with the form again. Organizers of the survey's organisation, and admins."""

from collections.abc import Mapping
from uuid import UUID

import aiohttp_jinja2
import asyncpg
from aiohttp import web

from services.surveys import ownership
from services.surveys.invitations import issuing, store
from services.surveys.invitations.api import ORGANIZER, invite, refusal_of
from services.surveys.invitations.rules import MAX_ON_DEMAND, NoInvitations, person_ids
from shared import csrf
from shared.audit import Acting
from shared.auth import Account, requires
from shared.http import POOL
from shared.i18n import gettext_ as _
from shared.i18n import language_var

PAGE = "/surveys/console/{survey_id}/invitations"
FIELD = "person_ids"
RESULT = ("issued", "already_invited", "not_known")  # the 303's query: what the write did


def refusal_messages() -> dict[NoInvitations, str]:
    return {
        NoInvitations.PUBLIC_ONLY: _("This survey has a public link only: it takes no invitations."),
        NoInvitations.NOT_OPEN_YET: _("This survey is a draft: open it before inviting anyone."),
        NoInvitations.CLOSED: _("This survey is closed: it takes no more invitations."),
    }


async def _owned(request: web.Request) -> tuple[Account, asyncpg.Record]:
    """The account and the survey the path names, once it is the account's (else 404, 403)."""
    return await ownership.owned(request, store.survey)


def _done(request: web.Request) -> dict[str, int] | None:
    """What the write before the 303 did, to say so; None when the query does not tell."""
    try:
        done = {name: int(request.query[name]) for name in RESULT}
    except (KeyError, ValueError):
        return None
    return done if all(0 <= n <= MAX_ON_DEMAND for n in done.values()) else None


async def _page(
    request: web.Request,
    survey: asyncpg.Record,
    typed: str = "",
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    token, cookie = csrf.token(request)
    refusal = refusal_of(survey)
    context = {
        "survey": survey,
        "title": issuing.title_in(survey, language_var.get()),
        "counts": await store.counts(request.app[POOL], survey["id"]),
        "refusal": None if refusal is None else refusal_messages()[refusal],
        "typed": typed,
        "errors": errors or {},
        "done": _done(request) if status == 200 else None,
        "csrf": token,
        "most": MAX_ON_DEMAND,
    }
    response = aiohttp_jinja2.render_template("invitations_console.html", request, context, status=status)
    csrf.set_cookie(response, cookie)
    response.headers["Cache-Control"] = "no-store"
    return response


@requires(ORGANIZER)
async def invitations_page(request: web.Request) -> web.Response:
    _account, survey = await _owned(request)
    return await _page(request, survey)


@requires(ORGANIZER)
async def invite_people(request: web.Request) -> web.Response:
    account, survey = await _owned(request)
    form = await request.post()
    typed = str(form.get(FIELD, ""))
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return await _page(request, survey, typed, {"form": _("This form had expired. Send it again.")}, 422)
    refusal = refusal_of(survey)
    if refusal is not None:
        return await _page(request, survey, typed, {FIELD: refusal_messages()[refusal]}, 409)
    ids, bad_lines = person_ids(typed)
    problem = _problem(ids, bad_lines)
    if problem is not None:
        return await _page(request, survey, typed, {FIELD: problem}, 422)
    issued = await invite(request.app[POOL], survey, ids, acting=Acting.of(request, account))
    query = "&".join(f"{name}={getattr(issued, name)}" for name in RESULT)
    return web.Response(
        status=303, headers={"Location": f"/surveys/console/{survey['id']}/invitations?{query}"}
    )


def _problem(ids: list[UUID], bad_lines: list[int]) -> str | None:
    if bad_lines:
        shown = ", ".join(str(n) for n in bad_lines[:10])
        return _("These lines are not person ids: %(lines)s. Paste one id per line.") % {"lines": shown}
    if not ids:
        return _("Paste at least one person id.")
    if len(ids) > MAX_ON_DEMAND:
        return _("At most %(most)s people at a time.") % {"most": MAX_ON_DEMAND}
    return None


def add_routes(app: web.Application) -> None:
    app.router.add_get(PAGE, invitations_page)
    app.router.add_post(PAGE, invite_people)
