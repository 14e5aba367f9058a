"""Engagement's HTTP handlers: the JSON API and its pages."""

import aiohttp_jinja2
from aiohttp import web

from services.engagement import store
from services.engagement.people import PersonCreated, PersonRegistration
from services.engagement.registration import EmailTaken, register_person
from shared.crashpoints import crash_point
from shared.http import POOL, request_id
from shared.i18n import gettext_ as _
from shared.openapi import Operation
from shared.problems import Problem, parse_json


async def post_person(request: web.Request) -> web.Response:
    person = await parse_json(request, PersonRegistration)
    async with request.app[POOL].acquire() as conn:
        try:
            person_id, _new = await register_person(conn, person, correlation_id=request_id(request))
        except EmailTaken as exc:
            raise Problem(
                409,
                "Already registered",
                "this e-mail address is already registered",
                errors=[{"field": "email", "message": "is already registered"}],
            ) from exc
    crash_point("http.after_commit_before_response")
    return web.json_response(
        PersonCreated(id=person_id).model_dump(mode="json"),
        status=201,
        headers={"Location": f"/api/v1/people/{person_id}"},
    )


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
        response=PersonCreated,
        status=201,
        problems=(400, 409, 415, 422),
    ),
)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/engagement/", engagement_page)
    app.router.add_post("/api/v1/people", post_person)
