"""The notices' HTTP surface: the signed unsubscribe link and preferences page, the report per
meeting and campaign (API and console page), and the demo's caught-mail page."""

from aiohttp import web

from services.notifications import mail_sink
from services.notifications.contacts import pages as preferences
from services.notifications.deliveries import report

OPERATIONS = report.OPERATIONS


def add_routes(app: web.Application) -> None:
    preferences.add_routes(app)
    report.add_routes(app)
    mail_sink.add_routes(app)
