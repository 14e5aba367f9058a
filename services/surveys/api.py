"""Surveys' HTTP handlers."""

import aiohttp_jinja2
from aiohttp import web

from shared.http import POOL
from shared.i18n import gettext_ as _


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


def add_routes(app: web.Application) -> None:
    app.router.add_get("/surveys/", surveys_page)
