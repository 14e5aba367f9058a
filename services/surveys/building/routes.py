"""Building's routes, API and console, and its API operations, for services/surveys/api.py."""

from aiohttp import web

from services.surveys.building import api, builder, pages

OPERATIONS = api.OPERATIONS


def add_routes(app: web.Application) -> None:
    api.add_routes(app)
    pages.add_routes(app)
    builder.add_routes(app)
