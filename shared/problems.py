"""RFC 9457 problem details for the JSON API."""

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

PROBLEM_JSON = "application/problem+json"
M = TypeVar("M", bound=BaseModel)


def problem(status: int, title: str, *, detail: str | None = None, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return web.Response(status=status, text=json.dumps(body), content_type=PROBLEM_JSON)


class Problem(Exception):
    """Raise from a handler to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra

    def response(self) -> web.Response:
        return problem(self.status, self.title, detail=self.detail, **self.extra)


def refusal(status: int, detail: str, field: str | None = None) -> Problem:
    """A write the domain's rules refused; one about a field names it (``audience.region_ids``)."""
    errors = [] if field is None else [{"field": field, "message": detail}]
    return Problem(status, "Refused", detail, errors=errors)


def validation_problem(exc: ValidationError) -> Problem:
    errors = [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
        for err in exc.errors(include_url=False)
    ]
    fields = ", ".join(e["field"] for e in errors)
    return Problem(422, "Invalid request", f"check these fields: {fields}", errors=errors)


async def parse_json(request: web.Request, model: type[M]) -> M:
    """The request body as ``model``, or a 400/415/422 problem naming what is wrong.

    Parsed by pydantic's own JSON parser: unlike ``json.loads`` it refuses nesting too deep and
    numbers too long with a validation error (not ``RecursionError`` or ``ValueError``), and
    refuses lone surrogates, which no UTF-8 text (nor PostgreSQL) can hold."""
    if request.content_type != "application/json":
        raise Problem(415, "Unsupported media type", "send the body as application/json")
    raw = await request.read()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        malformed = [e for e in exc.errors(include_url=False) if e["type"] == "json_invalid"]
        if malformed:
            raise Problem(
                400, "Malformed JSON", f"the body is not valid JSON: {malformed[0]['msg']}"
            ) from exc
        if any(e["type"] == "model_type" and not e["loc"] for e in exc.errors()):
            raise Problem(400, "Malformed JSON", "the body must be a JSON object") from exc
        raise validation_problem(exc) from exc
