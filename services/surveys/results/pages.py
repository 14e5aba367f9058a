"""The results pages: the organizers' (every count, cross-tabs chosen with a GET form,
representativeness, free texts, exports) and the public one, shown only once the survey has
closed and its organizers have published it; before that, or for no such survey, a "not
published" page answered 404. No JavaScript: the charts are SVG drawn on the server, each beside
a table of the same figures."""

from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
import asyncpg
from aiohttp import web
from pydantic import ValidationError

from services.surveys import ownership
from services.surveys.building.lifecycle import Phase, phase
from services.surveys.results import store
from services.surveys.results.api import ORGANIZER, FreeTextQuery, ResultsQuery, free_text_of
from services.surveys.results.charts import bar_chart
from services.surveys.results.crosstab import BY_CHOICES, by_label
from services.surveys.results.models import QuestionResult
from services.surveys.results.report import public_view
from shared.auth import requires
from shared.http import POOL
from shared.i18n import gettext_ as _
from shared.i18n import language_var


def _page(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _owned(request: web.Request) -> asyncpg.Record:
    _, found = await ownership.owned(request, store.survey)
    return found


def charted(questions: list[QuestionResult]) -> list[tuple[QuestionResult, object]]:
    """Each question with its chart (the same figures as its table)."""
    return [(q, bar_chart([(b.label, b.responses) for b in q.buckets], title=q.prompt)) for q in questions]


def by_choices() -> list[tuple[str, str]]:
    return [(by, by_label(by)) for by in BY_CHOICES]


@requires(ORGANIZER)
async def results_page(request: web.Request) -> web.Response:
    found = await _owned(request)
    language = language_var.get()
    typed = request.query.get("by", "")
    errors: dict[str, str] = {}
    by = None
    try:
        by = ResultsQuery.model_validate({"by": typed or None}).by
    except ValidationError:
        errors["by"] = _("Choose a question or region from the list.")
    pool = request.app[POOL]
    results = await store.results_of(pool, found["id"], by, language)
    assert results is not None  # found above
    context = {
        "survey": found,
        "results": results,
        "questions": charted(results.questions),
        "representativeness": await store.representativeness_of(pool, found, language),
        "by_choices": by_choices(),
        "typed": typed,
        "errors": errors,
    }
    return _page(request, "results_console.html", context, 422 if errors else 200)


@requires(ORGANIZER)
async def free_text_page(request: web.Request) -> web.Response:
    found = await _owned(request)
    try:
        asked = FreeTextQuery.model_validate({**request.query, "lang": language_var.get()})
    except ValidationError:
        raise web.HTTPNotFound() from None
    page = await free_text_of(request.app[POOL], found, asked)
    if page is None:
        raise web.HTTPNotFound()
    return _page(request, "results_free_text.html", {"survey": found, "page": page})


def published(found: asyncpg.Record | None, now: datetime) -> bool:
    """Whether the public may see a survey's results: closed, and its organizers allow it."""
    return (
        found is not None
        and found["results_public"]
        and phase(found["status"], found["opens_at"], found["closes_at"], now) is Phase.CLOSED
    )


async def public_results_page(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    found = await store.survey_by_slug(pool, request.match_info["slug"])
    if found is None or not published(found, datetime.now(UTC)):
        return _page(request, "results_not_published.html", {}, 404)
    language = language_var.get()
    results = await store.results_of(pool, found["id"], None, language)
    assert results is not None
    shown = public_view(results)
    return _page(request, "results_public.html", {"results": shown, "questions": charted(shown.questions)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/surveys/console/{survey_id}/results", results_page)
    app.router.add_get("/surveys/console/{survey_id}/results/free-text", free_text_page)
    app.router.add_get("/surveys/s/{slug}/results", public_results_page)
