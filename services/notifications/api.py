"""Notifications' HTTP handlers."""

import aiohttp_jinja2
from aiohttp import web

from services.notifications import person_export
from services.notifications.deliveries import routes as notices
from shared.http import POOL
from shared.i18n import gettext_ as _


@aiohttp_jinja2.template("service.html")
async def notifications_page(request: web.Request) -> dict[str, object]:
    row = await request.app[POOL].fetchrow(
        """SELECT count(*) AS all,
                  count(*) FILTER (WHERE consent_confirmed_at IS NOT NULL) AS reachable,
                  (SELECT count(*) FROM outgoing_mail WHERE status = 'sent') AS sent
           FROM contact_points"""
    )
    assert row is not None
    return {
        "heading": _("Notifications"),
        "purpose": _("Contact points and preferences, notices in each language, reminders and unsubscribe."),
        "figures": [
            (_("Contact points"), row["all"]),
            (_("Agreed to be contacted"), row["reachable"]),
            (_("Messages sent"), row["sent"]),
        ],
    }


def add_routes(app: web.Application) -> None:
    person_export.add_routes(app)
    notices.add_routes(app)
    app.router.add_get("/notifications/", notifications_page)
