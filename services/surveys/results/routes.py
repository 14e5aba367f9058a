"""The results' routes, API and pages, and their operations: what services/surveys/api.py wires."""

from aiohttp import web

from services.surveys.results import api, pages

OPERATIONS = api.OPERATIONS


def add_routes(app: web.Application) -> None:
    api.add_routes(app)
    pages.add_routes(app)
