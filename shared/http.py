"""What every service's HTTP side shares: request ids, problem+json errors and error pages,
security headers, request logs, metrics, the static files, and the /healthz, /readyz and
/metrics endpoints."""

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from shared.auth import SESSION_CHECK_PATH
from shared.bus import Bus
from shared.i18n import choose_language, language_var
from shared.logs import request_id_var
from shared.problems import Problem, problem
from shared.settings import Settings

log = logging.getLogger(__name__)
request_log = logging.getLogger("civic.requests")

POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool", asyncpg.Pool)
BUS: web.AppKey[Bus] = web.AppKey("bus", Bus)
SERVICE: web.AppKey[str] = web.AppKey("service", str)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)

REQUESTS = Counter("civic_http_requests_total", "HTTP requests", ["service", "route", "status"])
LATENCY = Histogram("civic_http_request_seconds", "HTTP request latency", ["service", "route"])
# Each (service, route, status)'s labelled children, looked up once: labels() validates and locks
# on every call. Bounded: routes are the app's own (or "unmatched"), statuses a few dozen.
_MEASURED: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

API_PREFIX = "/api/"  # answered in problem+json, never with a page
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# On every answer, pages and API alike. The pages have no inline script or style: their CSS is a
# file each service serves (shared/static), so the policy can refuse everything inline.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # A page may set a stricter one (a token in its URL: no-referrer).
    "Referrer-Policy": "same-origin",
}
STATIC_DIR = Path(__file__).parent / "static"


def request_id(request: web.Request) -> str:
    return request[REQUEST_ID]


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id (the caller's, if well-formed) that becomes the events'
    correlation id, answer every error as problem+json on the API or as a page elsewhere, and
    log one line per request (``stamp_headers`` adds the headers)."""
    offered = request.headers.get("X-Request-Id", "")
    rid = offered if _CLIENT_REQUEST_ID.match(offered) else secrets.token_hex(16)
    request[REQUEST_ID] = rid
    token = request_id_var.set(rid)
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    service = request.app[SERVICE]
    started = time.perf_counter()
    try:
        response = await _answer(request, handler)
        elapsed = time.perf_counter() - started
        count, latency = _measures(service, route, response.status)
        count.inc()
        latency.observe(elapsed)
        # nginx's session check precedes every request, with its id: logged, it would double
        # the log and give each request id two lines. Its counts and latency stay in /metrics.
        if request.path != SESSION_CHECK_PATH:
            _log_request(request, response.status, elapsed, rid)
    finally:
        request_id_var.reset(token)
    return response


async def stamp_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The security headers and the request id, on every answer as it starts (the app's
    on_response_prepare): a streamed answer (an export) sends its headers before its handler
    returns, too early for the middleware to add them."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if REQUEST_ID in request:
        response.headers["X-Request-Id"] = request[REQUEST_ID]


def _measures(service: str, route: str, status: int) -> tuple[Counter, Histogram]:
    key = (service, route, status)
    measures = _MEASURED.get(key)
    if measures is None:
        measures = (REQUESTS.labels(service, route, str(status)), LATENCY.labels(service, route))
        _MEASURED[key] = measures
    return measures


def _log_request(request: web.Request, status: int, elapsed: float, rid: str) -> None:
    # No query string, and a route's template rather than its values: a query or a path segment
    # may carry a secret (a consent link's token, a survey link), which a log must not keep.
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else request.path
    fields = {
        "method": request.method,
        "path": path,
        "status": status,
        "duration_ms": round(elapsed * 1000, 2),
        "request_id": rid,
    }
    request_log.info("%s %s %s %.2f ms", request.method, path, status, elapsed * 1000, extra=fields)


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    wants_problem = request.path.startswith(API_PREFIX)
    try:
        return await handler(request)
    except Problem as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:  # a redirect: answered as a plain response, so it gets the headers too
            return web.Response(status=exc.status, reason=exc.reason, headers=exc.headers, body=exc.body)
        # Keep what the error says beyond its body, e.g. Allow on a 405.
        kept = {k: v for k, v in exc.headers.items() if k not in ("Content-Type", "Content-Length")}
        if wants_problem:
            detail = exc.text if exc.text != f"{exc.status}: {exc.reason}" else None
            response = problem(exc.status, exc.reason, detail=detail)
        else:
            response = _error_page(request, exc.status, exc.reason)
        response.headers.update(kept)
        return response
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if wants_problem:
            return problem(500, "Internal error", detail=f"request id {request[REQUEST_ID]}")
        return _error_page(request, 500, "Internal Server Error")


def _error_page(request: web.Request, status: int, reason: str) -> web.Response:
    """A page in the reader's language naming the request id, which the logs carry too."""
    language = choose_language(request)
    token = language_var.set(language)
    try:
        context = {
            "status": status,
            "reason": reason,
            "request_id": request[REQUEST_ID],
            "language": language,
            "service": request.app[SERVICE],
        }
        return aiohttp_jinja2.render_template("error.html", request, context, status=status)
    finally:
        language_var.reset(token)


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
    # Under the service's own prefix, which the proxy sends to it.
    app.router.add_static(f"/{app[SERVICE]}/static/", STATIC_DIR)
