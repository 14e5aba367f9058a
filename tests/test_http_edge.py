"""What every service answers at its edge, served for real on loopback: security headers, errors
as problem+json on the API and as translated pages elsewhere, the body limit, the language
switch and one log line per request."""

import asyncio
import dataclasses
import html
import json
import logging
import re
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from deploy.proxy import nginx_config, write_nginx_config
from deploy.stack import SERVICES
from services.engagement.app import SPEC as ENGAGEMENT
from shared.bus import Bus
from shared.logs import JsonFormatter
from shared.runtime import build_app
from shared.settings import Settings
from tests.support.launcher import free_port
from tests.support.waiting import eventually

TEMPLATES = [
    *Path("shared/templates").glob("*.html"),
    *Path("services").glob("*/templates/*.html"),
]


async def broken(request: web.Request) -> web.Response:
    raise RuntimeError("a bug in a handler")


def with_broken_routes(app: web.Application) -> None:
    ENGAGEMENT.add_routes(app)
    app.router.add_get("/engagement/broken", broken)
    app.router.add_get("/api/v1/broken", broken)


@pytest.fixture
async def edge(settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus) -> AsyncIterator[TestClient]:
    spec = dataclasses.replace(ENGAGEMENT, add_routes=with_broken_routes)
    client = TestClient(TestServer(build_app(spec, settings, pools["engagement"], bus)))
    await client.start_server()
    yield client
    await client.close()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/engagement/", 200),
        ("GET", "/healthz", 200),
        ("GET", "/engagement/openapi.json", 200),
        ("GET", "/engagement/static/civic.css", 200),
        ("GET", "/no-such-page", 404),
        ("GET", "/api/v1/people", 405),
        ("GET", "/engagement/broken", 500),
        ("POST", "/api/v1/people", 415),
    ],
)
async def test_every_answer_carries_the_security_headers(
    edge: TestClient, method: str, path: str, status: int
) -> None:
    response = await edge.request(method, path)
    assert response.status == status
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'"
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert response.headers["X-Request-Id"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p))
def test_templates_have_no_inline_style_or_script(template: Path) -> None:
    """The policy refuses them: anything inline would silently not apply."""
    text = template.read_text()
    assert not re.search(r"<style|<script|\sstyle=|\son[a-z]+=|javascript:", text, re.IGNORECASE)


async def test_the_pages_style_sheet_is_served_and_linked(edge: TestClient) -> None:
    page = await (await edge.get("/engagement/")).text()
    assert '<link rel="stylesheet" href="/engagement/static/civic.css">' in page
    sheet = await edge.get("/engagement/static/civic.css")
    assert sheet.content_type == "text/css"
    assert "font-family" in await sheet.text()


async def test_a_wrong_method_on_the_api_is_a_problem_naming_the_allowed_ones(edge: TestClient) -> None:
    response = await edge.delete("/api/v1/people")
    assert response.status == 405
    assert response.content_type == "application/problem+json"
    assert response.headers["Allow"] == "POST"
    assert (await response.json())["status"] == 405


async def test_an_unknown_api_path_is_a_problem_with_the_request_id(edge: TestClient) -> None:
    response = await edge.get("/api/v2/anything", headers={"X-Request-Id": "edge-test-0001"})
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert response.headers["X-Request-Id"] == "edge-test-0001"


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "Page not found"), ("es", "Página no encontrada")]
)
async def test_a_missing_page_is_a_translated_page_naming_the_request_id(
    edge: TestClient, language: str, heading: str
) -> None:
    response = await edge.get(f"/nowhere?lang={language}", headers={"X-Request-Id": "edge-test-0404"})
    assert response.status == 404
    assert response.content_type == "text/html"
    page = await response.text()
    assert f'<html lang="{language}">' in page
    assert heading in page
    assert "<code>edge-test-0404</code>" in page


async def test_a_wrong_method_on_a_page_is_a_page_naming_the_allowed_ones(edge: TestClient) -> None:
    response = await edge.post("/engagement/", headers={"Accept-Language": "es"})
    assert response.status == 405
    assert response.content_type == "text/html"
    assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD"}
    assert "Esta página no se puede usar de esa manera" in await response.text()


async def test_a_bug_is_a_500_page_or_problem_with_the_request_id_and_a_logged_trace(
    edge: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    page = await edge.get("/engagement/broken", headers={"X-Request-Id": "edge-test-0500"})
    assert page.status == 500 and page.content_type == "text/html"
    text = await page.text()
    assert "Something went wrong on our side" in text and "edge-test-0500" in text
    assert "a bug in a handler" not in text  # the trace goes to the log, not to the reader
    api = await edge.get("/api/v1/broken", headers={"X-Request-Id": "edge-test-0501"})
    assert api.status == 500 and api.content_type == "application/problem+json"
    assert "edge-test-0501" in (await api.json())["detail"]
    traces = [r for r in caplog.records if r.exc_info and "a bug in a handler" in str(r.exc_info[1])]
    assert len(traces) == 2


async def test_a_body_nginx_lets_through_is_not_refused_by_the_service(
    edge: TestClient, settings: Settings
) -> None:
    """aiohttp's default limit is 1 MiB; nginx lets 20 MiB through. One setting sets both."""
    assert f"client_max_body_size {settings.max_body_bytes};" in nginx_config(
        list(SERVICES), settings, Path("/tmp/civic-nginx")
    )
    body = b'{"display_name": "' + b"a" * (settings.max_body_bytes - 100) + b'"}'
    accepted = await edge.post("/api/v1/people", data=body, headers={"Content-Type": "application/json"})
    assert accepted.status == 422  # read and validated (too long a name), not refused unread
    too_large = await edge.post(
        "/api/v1/people", data=body + b" " * 100, headers={"Content-Type": "application/json"}
    )
    assert too_large.status == 413
    assert too_large.content_type == "application/problem+json"


async def test_the_language_switch_keeps_the_query_string(edge: TestClient) -> None:
    page = await (await edge.get("/engagement/?view=table&lang=es&q=a%26b")).text()
    [href] = re.findall(r'<a href="([^"]*)" lang="en" hreflang="en">English</a>', page)
    link = html.unescape(href)
    assert link.startswith("?")  # the same path, whatever it is
    assert parse_qs(link[1:]) == {"view": ["table"], "lang": ["en"], "q": ["a&b"]}


async def test_each_request_is_one_log_line_without_its_query_string(
    edge: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="civic.requests")
    await edge.get("/engagement/?token=secret-in-the-url", headers={"X-Request-Id": "edge-test-log1"})
    [record] = [r for r in caplog.records if r.name == "civic.requests"]
    line = json.loads(JsonFormatter("engagement").format(record))
    assert line["method"] == "GET"
    assert line["path"] == "/engagement/"
    assert line["status"] == 200
    assert line["request_id"] == "edge-test-log1"
    assert isinstance(line["duration_ms"], float)
    assert "secret-in-the-url" not in json.dumps(line)


@pytest.fixture
async def nginx_alone(settings: Settings, tmp_path: Path) -> AsyncIterator[str]:
    """nginx as make run configures it, with no service behind it (all down or restarting)."""
    ports = {f"{name}_port": free_port() for name in ("proxy", "engagement", "surveys", "notifications")}
    alone = settings.model_copy(update=ports)
    prefix = tmp_path / "nginx"
    conf = write_nginx_config(list(SERVICES), alone, prefix)
    nginx = await asyncio.create_subprocess_exec(
        shutil.which("nginx") or "/usr/sbin/nginx",
        *("-c", str(conf), "-p", str(prefix), "-g", "daemon off;"),
        stdout=subprocess.DEVNULL,
    )

    async def listening() -> bool:
        try:
            _, writer = await asyncio.open_connection(alone.host, alone.proxy_port)
        except OSError:
            return False
        writer.close()
        return True

    try:
        await eventually(listening, bool)
        yield f"http://{alone.host}:{alone.proxy_port}"
    finally:
        nginx.send_signal(signal.SIGQUIT)
        await nginx.wait()


@pytest.mark.parametrize(
    ("path", "headers", "heading"),
    [
        ("/engagement/", {"Accept-Language": "es-MX,es;q=0.9"}, "Algo falló de nuestro lado"),
        ("/surveys/?lang=es", {"Accept-Language": "en"}, "Algo falló de nuestro lado"),
        ("/", {"Cookie": "lang=en", "Accept-Language": "es"}, "Something went wrong on our side"),
    ],
)
async def test_a_service_that_is_down_is_a_page_in_the_readers_language(
    nginx_alone: str, path: str, headers: dict[str, str], heading: str
) -> None:
    async with aiohttp.ClientSession(nginx_alone) as http:
        response = await http.get(path, headers={**headers, "X-Request-Id": "edge-test-down1"})
        assert response.status == 503
        assert response.content_type == "text/html"
        page = await response.text()
        assert f"<h1>{heading}</h1>" in page and "<code>edge-test-down1</code>" in page
        assert response.headers["X-Request-Id"] == "edge-test-down1"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Retry-After"]


async def test_a_service_that_is_down_is_a_problem_on_the_api(nginx_alone: str) -> None:
    async with aiohttp.ClientSession(nginx_alone) as http:
        response = await http.post("/api/v1/people", json={"display_name": "Ana"})
        assert response.status == 503
        assert response.content_type == "application/problem+json"
        problem = await response.json()
        assert problem["status"] == 503
        assert response.headers["X-Request-Id"] in problem["detail"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
