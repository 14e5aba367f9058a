"""Engagement's HTTP handlers: the JSON API and its pages."""

from collections.abc import AsyncIterator

import aiohttp_jinja2
from aiohttp import web

from services.engagement import store, throttle
from services.engagement.accounts import api as accounts_api
from services.engagement.accounts import pages as accounts_pages
from services.engagement.campaigns import api as campaigns_api
from services.engagement.campaigns import pages as campaigns_pages
from services.engagement.community import api as community_api
from services.engagement.community import pages as community_pages
from services.engagement.decisions import api as decisions_api
from services.engagement.decisions import pages as decisions_pages
from services.engagement.meetings import routes as meetings
from services.engagement.people import PersonRegistration, RegistrationAccepted
from services.engagement.people import pages as people_pages
from services.engagement.regions import api as regions_api
from services.engagement.regions import pages as regions_pages
from services.engagement.registration import (
    Confirmation,
    Registration,
    RegistrationRequest,
    confirm_consent,
    confirmation_state,
    register_people,
)
from services.engagement.residents import pages as resident_pages
from shared import csrf
from shared.crashpoints import crash_point
from shared.group_commit import GroupCommit
from shared.http import POOL, SETTINGS, request_id
from shared.i18n import gettext_ as _
from shared.openapi import Operation
from shared.problems import parse_json, problem


async def post_person(request: web.Request) -> web.Response:
    """202 whether the address is new or registered already: the answer tells no one who is."""
    pool = request.app[POOL]
    wait = await throttle.seconds_to_wait(pool, request, request.app[SETTINGS])
    if wait is not None:
        response = problem(429, "Too many registrations", detail=f"try again in {wait} seconds")
        response.headers["Retry-After"] = str(wait)
        return response
    person = await parse_json(request, PersonRegistration)
    await request.app[REGISTRATIONS].submit(RegistrationRequest(person, correlation_id=request_id(request)))
    crash_point("http.after_commit_before_response")
    return web.Response(body=_ACCEPTED, status=202, content_type="application/json", charset="utf-8")


# The same answer to every registration, serialised once.
_ACCEPTED = RegistrationAccepted().model_dump_json().encode()


async def confirmation_page(request: web.Request) -> web.Response:
    """What a link sent to an address opens: a button, never a change on GET (mail scanners
    follow links)."""
    token = request.match_info["token"]
    return _confirmation(request, token, await confirmation_state(request.app[POOL], token))


async def confirm(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    form = await request.post()
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return _confirmation(request, token, Confirmation.PENDING, refused=True)
    async with request.app[POOL].acquire() as conn:
        state = await confirm_consent(conn, token, correlation_id=request_id(request))
    if state is Confirmation.CONFIRMED:
        raise web.HTTPSeeOther(f"/confirm/{token}")  # a reload does not post again
    return _confirmation(request, token, state)


def _confirmation(
    request: web.Request, token: str, state: Confirmation, *, refused: bool = False
) -> web.Response:
    csrf_token, csrf_cookie = csrf.token(request)
    status = 403 if refused else _CONFIRMATION_STATUS[state]
    context = {"state": state.value, "token": token, "csrf": csrf_token, "refused": refused}
    response = aiohttp_jinja2.render_template("confirm.html", request, context, status=status)
    if state is Confirmation.PENDING:
        csrf.set_cookie(response, csrf_cookie)
    # The token is in the URL: keep it out of other sites' logs and out of caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


_CONFIRMATION_STATUS = {
    Confirmation.PENDING: 200,
    Confirmation.CONFIRMED: 200,
    Confirmation.EXPIRED: 410,
    Confirmation.UNKNOWN: 404,
}


@aiohttp_jinja2.template("home.html")
async def home(request: web.Request) -> dict[str, object]:
    return {}


@aiohttp_jinja2.template("service.html")
async def engagement_page(request: web.Request) -> dict[str, object]:
    counts = await store.count_people(request.app[POOL])
    return {
        "heading": _("Engagement"),
        "purpose": _(
            "People and their consent, Communities of Practice, campaigns, meetings and the decision ledger."
        ),
        "figures": [
            (_("People registered"), counts["people"]),
            (_("Agreed to be contacted"), counts["consenting"]),
            (_("Of them demo data"), counts["demo"]),
        ],
    }


OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/people",
        "Register a person (resident, member or organizer)",
        request=PersonRegistration,
        response=RegistrationAccepted,
        status=202,
        problems=(429,),
        public=True,
    ),
    *accounts_api.OPERATIONS,
    *community_api.OPERATIONS,
    *regions_api.OPERATIONS,
    *campaigns_api.OPERATIONS,
    *decisions_api.OPERATIONS,
    *meetings.OPERATIONS,
)


REGISTRATIONS: web.AppKey[GroupCommit[RegistrationRequest, Registration]] = web.AppKey("registrations")


async def _registrations(app: web.Application) -> AsyncIterator[None]:
    """Registrations are committed in groups: under load, one commit serves many requests."""
    registrations = GroupCommit(app[POOL], register_people)
    registrations.start()
    app[REGISTRATIONS] = registrations
    yield
    await registrations.stop()


def add_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(_registrations)
    app.router.add_get("/", home)
    app.router.add_get("/engagement/", engagement_page)
    app.router.add_post("/api/v1/people", post_person)
    app.router.add_get(r"/confirm/{token:[A-Za-z0-9_-]{32,128}}", confirmation_page)
    app.router.add_post(r"/confirm/{token:[A-Za-z0-9_-]{32,128}}", confirm)
    accounts_api.add_routes(app)
    accounts_pages.add_routes(app)
    community_api.add_routes(app)
    community_pages.add_routes(app)
    resident_pages.add_routes(app)
    people_pages.add_routes(app)
    campaigns_api.add_routes(app)
    campaigns_pages.add_routes(app)
    decisions_api.add_routes(app)
    decisions_pages.add_routes(app)
    regions_api.add_routes(app)
    regions_pages.add_routes(app)
    meetings.add_routes(app)
