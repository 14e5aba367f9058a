"""The results JSON API, for the survey's organizers (and admins): the results with cross-tabs,
representativeness, the free texts of a question, and the exports. Each route needs the organizer
role; the handler then checks it is held over the survey's organisation (shared/auth.py)."""

from typing import Literal, TypeVar, get_args
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.surveys import ownership
from services.surveys.building.definition import LanguageCode
from services.surveys.results import export, store
from services.surveys.results.crosstab import BY_CHOICES
from services.surveys.results.models import FreeTextPage, RepresentativenessReport, Results
from services.surveys.results.report import has_free_text, words
from shared.auth import Need, Role, requires
from shared.http import POOL
from shared.openapi import Operation
from shared.problems import Problem, validation_problem

ORGANIZER = Need(Role.ORGANIZER)
By = Literal["age", "household_income", "language_at_home", "race_ethnicity", "tenure", "region"]
# What recording.py counts cross-tabs by, written out for the OpenAPI document's enum.
assert set(get_args(By)) == set(BY_CHOICES)
Q = TypeVar("Q", bound=BaseModel)


class ResultsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    by: By | None = Field(default=None, description="cross-tab every question by this")
    lang: LanguageCode = Field(default="en", description="the labels' language (else the survey's main)")


class FreeTextQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: str = Field(min_length=1, max_length=40)
    after: UUID | None = Field(default=None, description="the next of the previous page")
    lang: LanguageCode = "en"


def query(request: web.Request, model: type[Q]) -> Q:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise validation_problem(exc) from exc


async def owned(request: web.Request) -> asyncpg.Record:
    """The survey the path names, once the account is one of its organizers (else 404, 403)."""
    _, found = await ownership.owned(request, store.survey)
    return found


def _json(model: BaseModel) -> web.Response:
    return web.Response(
        text=model.model_dump_json(), content_type="application/json", headers={"Cache-Control": "no-store"}
    )


@requires(ORGANIZER)
async def get_results(request: web.Request) -> web.Response:
    found = await owned(request)
    asked = query(request, ResultsQuery)
    results = await store.results_of(request.app[POOL], found["id"], asked.by, asked.lang)
    assert results is not None  # found above
    return _json(results)


@requires(ORGANIZER)
async def get_representativeness(request: web.Request) -> web.Response:
    found = await owned(request)
    language = query(request, ResultsQuery).lang
    return _json(await store.representativeness_of(request.app[POOL], found, language))


async def free_text_of(
    pool: asyncpg.Pool, found: asyncpg.Record, asked: FreeTextQuery
) -> FreeTextPage | None:
    """A page of a question's free texts; None when no version has such a question with texts."""
    questions = await store.asked_of(pool, found["id"], found["current_version"])
    question = next((a for a in questions if a.question.id == asked.question), None)
    if question is None or not has_free_text(question.question):
        return None
    page = await store.free_texts(pool, found["id"], asked.question, asked.after)
    return store.free_text_page(
        asked.question, words(question.question.prompt, question.document, asked.lang), page
    )


@requires(ORGANIZER)
async def get_free_text(request: web.Request) -> web.Response:
    found = await owned(request)
    asked = query(request, FreeTextQuery)
    page = await free_text_of(request.app[POOL], found, asked)
    if page is None:
        message = "no question of this survey with that id has texts (a text question, or an 'other')"
        raise Problem(422, "Invalid request", message, errors=[{"field": "question", "message": message}])
    return _json(page)


@requires(ORGANIZER)
async def export_csv(request: web.Request) -> web.StreamResponse:
    return await export.csv_export(request, request.app[POOL], await owned(request))


@requires(ORGANIZER)
async def export_json(request: web.Request) -> web.StreamResponse:
    return await export.json_export(request, request.app[POOL], await owned(request))


BASE = "/api/v1/surveys/{survey_id}"
OPERATIONS = (
    Operation(
        "GET",
        f"{BASE}/results",
        "A survey's results: counts per question over its versions, and cross-tabs (?by=)",
        response=Results,
        problems=(404, 422),
        need=ORGANIZER,
    ),
    Operation(
        "GET",
        f"{BASE}/representativeness",
        "The respondents per band against the survey's region's baseline",
        response=RepresentativenessReport,
        problems=(404, 422),
        need=ORGANIZER,
    ),
    Operation(
        "GET",
        f"{BASE}/free-text",
        "A page of the texts given to a question (?question=, ?after=)",
        response=FreeTextPage,
        problems=(404, 422),
        need=ORGANIZER,
    ),
    Operation("GET", f"{BASE}/export.csv", "The responses as CSV", problems=(404,), need=ORGANIZER),
    Operation("GET", f"{BASE}/export.json", "The responses as JSON", problems=(404,), need=ORGANIZER),
)


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{BASE}/results", get_results)
    app.router.add_get(f"{BASE}/representativeness", get_representativeness)
    app.router.add_get(f"{BASE}/free-text", get_free_text)
    app.router.add_get(f"{BASE}/export.csv", export_csv)
    app.router.add_get(f"{BASE}/export.json", export_json)
