"""A competition's console page (``/console/decisions/{id}/competition``): forms without
JavaScript to set its places and weighted criteria, receive an application, declare a
reviewer's conflict of interest, and enter a reviewer's scores; errors beside their field with
what was typed kept, as the decision's other console forms (pages.py ``_step``)."""

from collections.abc import Mapping
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from services.engagement.community.api import ORGANIZER
from services.engagement.community.pages import _page
from services.engagement.decisions.changes import Writer
from services.engagement.decisions.competition import (
    ApplicationFields,
    CompetitionFields,
    Conflict,
    ScoreSheet,
)
from services.engagement.decisions.competition_api import _competition
from services.engagement.decisions.forms import NAMES, _lines, _owned, _parts, _step
from services.engagement.decisions.models import Stage
from shared.auth import requires


async def competition_page(
    request: web.Request,
    typed: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    record, _account = await _owned(request)
    stage = record.decision.stage
    context = {
        "record": record,
        "competition": record.competition,
        "typed": typed or {},
        "errors": errors or {},
        "receiving": stage in (Stage.PROPOSED, Stage.CONSULTATION),
        "scoring": stage in (Stage.CONSULTATION, Stage.DELIBERATION),
        "unchanged": "unchanged" in request.query,
        **NAMES,
    }
    return _page(request, "competition.html", context, status)


@requires(ORGANIZER)
async def console_competition(request: web.Request) -> web.Response:
    return await competition_page(request)


async def _set(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> None:
    criteria = [
        _parts(line, r"\s*\|\s*", ("name", "weight", "description"))
        for line in _lines(typed.get("criteria", ""))
    ]
    fields = CompetitionFields.model_validate({"places": typed.get("places") or None, "criteria": criteria})
    await _competition(writer).set_competition(decision_id, fields)


async def _receive(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> None:
    fields = ApplicationFields.model_validate(
        {
            "community": typed.get("community", ""),
            "lead": typed.get("lead", ""),
            "summary": typed.get("summary", ""),
            "document_links": _lines(typed.get("document_links", "")),
            "contact_person_id": typed.get("contact_person_id") or None,
        }
    )
    await _competition(writer).receive(decision_id, fields)


async def _declare(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> None:
    conflict = Conflict.model_validate(
        {"reviewer": typed.get("reviewer") or None, "reason": typed.get("reason", "")}
    )
    await _competition(writer).declare(decision_id, _application_id(typed), conflict)


async def _score(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> str | None:
    """A score per criterion, the fields score_<criterion position>; the same scores as the
    reviewer's counted ones change nothing."""
    scores = [
        {"criterion": int(name.removeprefix("score_")), "score": value or None}
        for name, value in typed.items()
        if name.startswith("score_") and name.removeprefix("score_").isdigit()
    ]
    sheet = ScoreSheet.model_validate({"reviewer": typed.get("reviewer") or None, "scores": scores})
    return (
        None if await _competition(writer).score(decision_id, _application_id(typed), sheet) else "unchanged"
    )


class _Chosen(BaseModel):
    application_id: UUID


def _application_id(typed: Mapping[str, str]) -> UUID:
    return _Chosen.model_validate({"application_id": typed.get("application_id") or None}).application_id


def add_routes(app: web.Application) -> None:
    path = "/console/decisions/{decision_id}"
    app.router.add_get(path + "/competition", console_competition)
    steps = {
        "competition": (frozenset(CompetitionFields.model_fields), _set),
        "applications": (frozenset(ApplicationFields.model_fields), _receive),
        "conflicts": (frozenset({"application_id", "reviewer", "reason"}), _declare),
        "scores": (frozenset({"application_id", "reviewer", "scores"}), _score),
    }
    for name, (fields, write) in steps.items():
        app.router.add_post(f"{path}/{name}", _step(fields, write, competition_page, "/competition"))
