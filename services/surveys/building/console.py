"""What the surveys console's pages share: rendering with a CSRF token, the 303 after a write,
the survey a path names once it is the account's. An expired or forged form is answered 422
with the form again (403 is kept for "your roles do not allow this")."""

from typing import Any
from uuid import UUID

import aiohttp_jinja2
import asyncpg
from aiohttp import web
from multidict import MultiMapping
from pydantic import ValidationError

from services.surveys import ownership
from services.surveys.building import store
from services.surveys.building.models import Query
from shared import csrf
from shared.auth import Account
from shared.i18n import gettext_ as _

CONSOLE = "/surveys/console"
DONE = frozenset({"saved", "opened", "closed", "imported", "deleted", "moved", "added"})


def page(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    token, cookie = csrf.token(request)
    context = {**context, "csrf": token, "done": DONE.intersection(request.query)}
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    csrf.set_cookie(response, cookie)
    response.headers["Cache-Control"] = "no-store"
    return response


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def query_of(request: web.Request) -> Query:
    try:
        return Query.model_validate(dict(request.query))
    except ValidationError:
        return Query()  # a mistyped page number or search: the first page of everything


def expired() -> dict[str, str]:
    return {"form": _("This form had expired. Send it again.")}


def fresh(request: web.Request, data: MultiMapping[Any]) -> bool:
    return csrf.is_valid(request, data.get(csrf.FIELD))


def survey_path(survey_id: UUID) -> str:
    return f"{CONSOLE}/{survey_id}"


async def owned(request: web.Request) -> tuple[UUID, Account, asyncpg.Record]:
    """The survey the path names and the account, once it is the account's (else 404, 403)."""
    account, row = await ownership.owned(request, store.survey)
    return row["id"], account, row
