"""An OpenAPI 3.1 document per service, generated from the pydantic models its handlers use."""

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from shared.auth import ANY_ACCOUNT, SESSION_COOKIE, Need

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


# What reading a request body can answer, whatever the operation: malformed JSON, a body over
# the limit, another media type, invalid fields (shared/problems.py parse_json).
BODY_PROBLEMS = (400, 413, 415, 422)
# Every answer carries its request id (shared/http.py), as the logs and the events do.
REQUEST_ID_HEADER = {
    "X-Request-Id": {
        "description": "The request's id: the client's own when well-formed, else a new one",
        "required": True,
        "schema": {"type": "string"},
    }
}


# Signed in through the sign-in page; nginx turns the cookie into the account (shared/auth.py).
SECURITY_SCHEMES = {"session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}}
# Nobody signed in (401), or an account whose roles do not allow it (403).
ACCESS_PROBLEMS = (401, 403)


@dataclass(frozen=True)
class Operation:
    """An API operation. Protected unless marked ``public``: an operation added without a
    thought for access needs an account, and tests/test_access_control.py checks it refuses
    anybody else."""

    method: str
    path: str
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    problems: tuple[int, ...] = ()
    public: bool = False
    need: Need = ANY_ACCOUNT


def _path_schema(name: str) -> dict[str, str]:
    """A path's ``{..._id}`` is a UUID; any other parameter a string."""
    return {"type": "string", "format": "uuid"} if name.endswith("_id") else {"type": "string"}


def openapi_document(service: str, operations: tuple[Operation, ...]) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        success: dict[str, Any] = {"description": op.summary, "headers": REQUEST_ID_HEADER}
        if op.response is not None:
            success["content"] = {"application/json": {"schema": ref(op.response)}}
        responses: dict[str, Any] = {str(op.status): success}
        access = () if op.public else ACCESS_PROBLEMS
        for status in sorted({*op.problems, *access, *(BODY_PROBLEMS if op.request is not None else ())}):
            responses[str(status)] = {
                "description": "problem",
                "headers": REQUEST_ID_HEADER,
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        operation: dict[str, Any] = {
            "summary": op.summary,
            "responses": responses,
            "security": [] if op.public else [{"session": []}],
        }
        if names := re.findall(r"\{(\w+)", op.path):
            operation["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": _path_schema(name)} for name in names
            ]
        if op.request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.request)}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": f"Civic engagement platform: {service}", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }
