"""Surveys' HTTP handlers."""

import aiohttp_jinja2
from aiohttp import web
from pydantic import BaseModel

from services.surveys import person_export
from services.surveys.answering import api as answering
from services.surveys.building import routes as building
from services.surveys.invitations import routes as invitations
from services.surveys.results import routes as results
from shared.auth import ANY_ACCOUNT, requires
from shared.http import POOL
from shared.i18n import gettext_ as _
from shared.openapi import Operation


@aiohttp_jinja2.template("service.html")
async def surveys_page(request: web.Request) -> dict[str, object]:
    respondents = await request.app[POOL].fetchval("SELECT count(*) FROM respondents")
    return {
        "heading": _("Surveys"),
        "purpose": _(
            "Participation surveys, invitations, responses, live tallies and how "
            "representative the respondents are."
        ),
        "figures": [(_("People who can be invited"), respondents)],
    }


class TallyRow(BaseModel):
    postal_code: str
    language: str
    respondents: int


class Tally(BaseModel):
    rows: list[TallyRow]


@requires(ANY_ACCOUNT)
async def tally(request: web.Request) -> web.Response:
    """Who can be invited, by postal code and language: for organizers, not for the public."""
    rows = await request.app[POOL].fetch(
        "SELECT postal_code, language, respondents FROM respondent_tallies ORDER BY postal_code, language"
    )
    body = Tally(rows=[TallyRow.model_validate(dict(row)) for row in rows])
    return web.Response(text=body.model_dump_json(), content_type="application/json")


OPERATIONS = (
    Operation(
        "GET",
        "/api/v1/surveys/tally",
        "People who can be invited, by postal code and language",
        response=Tally,
        need=ANY_ACCOUNT,
    ),
    *building.OPERATIONS,
    *answering.OPERATIONS,
    *invitations.OPERATIONS,
    *results.OPERATIONS,
)


def add_routes(app: web.Application) -> None:
    person_export.add_routes(app)
    answering.add_routes(app)
    invitations.add_routes(app)
    app.router.add_get("/surveys/", surveys_page)
    app.router.add_get("/api/v1/surveys/tally", tally)
    results.add_routes(app)
    building.add_routes(app)  # after tally: /api/v1/surveys/{survey_id} would take its path
