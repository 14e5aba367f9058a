"""The console's people pages, for organizers and admins: the list of people (paged, searched,
an address refused for good marked beside its person: ``refusals``) and importing people from
a CSV file (``importing`` has the file's rules). Any organizer may import: people belong to no
organisation yet, and the audit entry names who imported them.

A file with problems is answered 422 with every problem in a table beside the upload field,
nothing written; an imported file 303 to the form saying how many (a reload does not post
again). An expired or forged form is 422 too, as on the other console forms."""

import asyncio
from pathlib import PurePath
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from services.engagement.community.api import ORGANIZER, total
from services.engagement.community.models import Query, pages
from services.engagement.people import import_store, refusals
from services.engagement.people.import_store import Importer, ImportRefused
from services.engagement.people.importing import COLUMNS, RowError, parse
from shared import csrf
from shared.auth import check, requires
from shared.http import POOL, SERVICE, request_id
from shared.i18n import gettext_ as _

FIELD = "file"
# Problems listed on the page; the rest are counted (the CLI lists them all).
SHOWN_ERRORS = 200


class Done(BaseModel):
    """What the import before the 303 did, to say so; anything else in the query is ignored."""

    imported: int = Field(default=0, ge=0)
    skipped: int = Field(default=0, ge=0)


def _render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    token, cookie = csrf.token(request)
    response = aiohttp_jinja2.render_template(template, request, {**context, "csrf": token}, status=status)
    csrf.set_cookie(response, cookie)
    response.headers["Cache-Control"] = "no-store"
    return response


@requires(ORGANIZER)
async def people_page(request: web.Request) -> web.Response:
    try:
        query = Query.model_validate(dict(request.query))
    except ValidationError:
        query = Query()  # a mistyped page number or search: the first page of everything
    rows = await import_store.people_page(request.app[POOL], query.q, query.offset)
    refused = await refusals.refusals_of(request.app[POOL], [row["id"] for row in rows])
    context = {"people": rows, "refused": refused, "query": query, "pages": pages(total(rows))}
    return _render(request, "people.html", context)


def _import_form(
    request: web.Request, errors: list[RowError], message: str = "", status: int = 200
) -> web.Response:
    try:
        done = Done.model_validate(dict(request.query)) if request.method == "GET" else None
    except ValidationError:
        done = None
    context = {
        "columns": COLUMNS,
        "errors": errors[:SHOWN_ERRORS],
        "more_errors": max(0, len(errors) - SHOWN_ERRORS),
        "message": message,
        "done": done if done and (done.imported or done.skipped) else None,
    }
    return _render(request, "people_import.html", context, status)


@requires(ORGANIZER)
async def import_page(request: web.Request) -> web.Response:
    return _import_form(request, [])


@requires(ORGANIZER)
async def import_people(request: web.Request) -> web.Response:
    account = check(request, ORGANIZER)
    form = await request.post()
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return _import_form(request, [], _("This form had expired. Send it again."), 422)
    upload = form.get(FIELD)
    if not isinstance(upload, web.FileField):
        return _import_form(request, [], _("Choose a CSV file to import."), 422)
    # Checking 100,000 rows takes seconds: in a thread, so the loop keeps serving meanwhile.
    parsed = await asyncio.to_thread(parse, upload.file.read())
    importer = Importer(account, request.app[SERVICE], request_id(request))
    try:
        async with request.app[POOL].acquire() as conn:
            imported = await import_store.import_people(
                conn, parsed, importer, file_name=PurePath(upload.filename).name[:200]
            )
    except ImportRefused as exc:
        message = _("Nothing was imported: correct these rows and send the file again.")
        return _import_form(request, exc.errors, message, 422)
    skipped = len(imported.skipped_rows)
    raise web.HTTPSeeOther(f"/console/people/import?imported={imported.created}&skipped={skipped}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/people", people_page)
    app.router.add_get("/console/people/import", import_page)
    app.router.add_post("/console/people/import", import_people)
