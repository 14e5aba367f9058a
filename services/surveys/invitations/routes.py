"""The invitations' HTTP routes and operations, for surveys' api.py to add in one call."""

from aiohttp import web

from services.surveys.invitations import api, pages

OPERATIONS = api.OPERATIONS


def add_routes(app: web.Application) -> None:
    api.add_routes(app)
    pages.add_routes(app)
