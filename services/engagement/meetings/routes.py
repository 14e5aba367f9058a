"""The meetings' API and pages, as engagement adds them."""

from aiohttp import web

from services.engagement.meetings import api, pages

OPERATIONS = api.OPERATIONS


def add_routes(app: web.Application) -> None:
    api.add_routes(app)
    pages.add_routes(app)
