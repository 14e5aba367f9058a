"""What every service's HTTP side shares: request ids, problem+json errors, metrics, and the
/healthz, /readyz and /metrics endpoints."""

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from shared.bus import Bus
from shared.logs import request_id_var
from shared.problems import Problem, problem
from shared.settings import Settings

log = logging.getLogger(__name__)

POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool", asyncpg.Pool)
BUS: web.AppKey[Bus] = web.AppKey("bus", Bus)
SERVICE: web.AppKey[str] = web.AppKey("service", str)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)

REQUESTS = Counter("civic_http_requests_total", "HTTP requests", ["service", "route", "status"])
LATENCY = Histogram("civic_http_request_seconds", "HTTP request latency", ["service", "route"])

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_id(request: web.Request) -> str:
    return request[REQUEST_ID]


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id (the caller's, if well-formed) that becomes the events'
    correlation id, and answer every error on the API as problem+json."""
    offered = request.headers.get("X-Request-Id", "")
    rid = offered if _CLIENT_REQUEST_ID.match(offered) else uuid.uuid4().hex
    request[REQUEST_ID] = rid
    token = request_id_var.set(rid)
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    service = request.app[SERVICE]
    started = time.perf_counter()
    try:
        response = await _answer(request, handler)
    finally:
        request_id_var.reset(token)
    response.headers["X-Request-Id"] = rid
    REQUESTS.labels(service, route, str(response.status)).inc()
    LATENCY.labels(service, route).observe(time.perf_counter() - started)
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    wants_problem = request.path.startswith("/api/")
    try:
        return await handler(request)
    except Problem as exc:
        return exc.response()
    except web.HTTPException as exc:
        if not wants_problem or exc.status < 400:
            raise
        return problem(exc.status, exc.reason, detail=exc.text if exc.text != exc.reason else None)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_problem:
            return problem(500, "Internal error", detail=f"request id {request[REQUEST_ID]}")
        raise


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "service": request.app[SERVICE]})


async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2):
            await request.app[POOL].fetchval("SELECT 1")
        checks["postgresql"] = "ok"
    except Exception as exc:
        checks["postgresql"] = f"unavailable: {type(exc).__name__}"
    checks["rabbitmq"] = "ok" if request.app[BUS].is_connected else "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", "service": request.app[SERVICE], "checks": checks},
        status=200 if ready else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_operations_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
