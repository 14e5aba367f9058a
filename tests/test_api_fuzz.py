"""The platform through its one address (nginx), as `make run` starts it: every service's API
fuzzed by schemathesis from its own OpenAPI document, and what nginx adds at the edge (request
ids kept end to end and logged, /metrics kept private, a problem or a page for what no service
claims)."""

import asyncio
import json
import re
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from deploy.stack import SERVICES
from shared.db import drop_database
from shared.settings import Settings
from tests.support.launcher import free_port, read_until, start_platform
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@dataclass(frozen=True)
class Platform:
    address: str
    settings: Settings
    logs: Path


@pytest.fixture(scope="module")
async def platform(
    run_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    settings = run_settings.with_database(f"civic_fuzz_{uuid.uuid4().hex[:8]}").model_copy(
        update={
            "bus_prefix": f"fuzz{uuid.uuid4().hex[:6]}.",
            "log_json": True,  # as make run writes them
            # The fuzzer sends hundreds of registrations from one address: with the limit on, it
            # would meet mostly 429s and test nothing behind them. The limit has tests of its own.
            "registrations_per_client": 0,
            **{
                f"{name}_port": free_port()
                for name in ("proxy", "engagement", "surveys", "notifications", "smtp")
            },
        }
    )
    run_dir = tmp_path_factory.mktemp("run")
    launcher = await start_platform(settings, run_dir, "--no-demo")
    assert launcher.stdout is not None
    output: list[str] = []
    try:
        line = await read_until(launcher.stdout, r"Open http://", output)
        yield Platform(line.split("Open ", 1)[1].strip(), settings, run_dir / "logs")
    finally:
        if launcher.returncode is None:
            launcher.send_signal(signal.SIGINT)
        await asyncio.wait_for(launcher.stdout.read(), timeout=60)
        await launcher.wait()
        await drop_database(settings.migration_database_url)


def log_lines(path: Path) -> list[dict[str, object]]:
    lines = []
    for text in path.read_text().splitlines():
        try:
            lines.append(json.loads(text))
        except ValueError:
            continue  # a line a program printed before its logging was set up
    return lines


async def test_every_api_answers_as_its_openapi_document_says(platform: Platform) -> None:
    """Each service's document is read as served, so an operation added later is fuzzed too."""
    async with aiohttp.ClientSession(platform.address) as http:
        documents = [await (await http.get(f"/{spec.name}/openapi.json")).json() for spec in SERVICES]
    fuzzed = [spec.name for spec, doc in zip(SERVICES, documents, strict=True) if doc["paths"]]
    assert "engagement" in fuzzed
    for name in fuzzed:
        run = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            "run",
            f"{platform.address}{name}/openapi.json",
            "--url",
            platform.address.rstrip("/"),
            "--checks",
            "all",
            # Per operation: engagement alone has some 70 now, and 200 each took it past four
            # minutes on a loaded machine; its coverage phase still tries every field's edges.
            "--max-examples",
            "60",
            "--workers",
            "1",
            "--seed",
            "1",
            "--no-color",
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        report, _ = await asyncio.wait_for(run.communicate(), timeout=900)  # a guard against a hang
        assert run.returncode == 0, f"schemathesis on {name}:\n{report.decode()}"


async def test_a_clients_request_id_is_kept_end_to_end_and_joins_the_logs(platform: Platform) -> None:
    rid = f"client-{uuid.uuid4().hex[:12]}"
    async with aiohttp.ClientSession(platform.address) as http:
        response = await http.post(
            "/api/v1/people", json={"display_name": "Ana"}, headers={"X-Request-Id": rid}
        )
        assert response.status == 202
        assert response.headers["X-Request-Id"] == rid
        # Not well-formed: nginx gives the request its own id, and the service keeps that one.
        replaced = await http.get("/engagement/?token=secret", headers={"X-Request-Id": "bad id; drop"})
        own = replaced.headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", own)
    db = await asyncpg.connect(platform.settings.database_url)
    try:
        correlated = await db.fetchval(
            "SELECT count(*) FROM engagement.outbox WHERE payload->>'correlation_id' = $1", rid
        )
    finally:
        await db.close()
    assert correlated == 1  # the event the request caused carries the client's id

    def lines_with(file: str, wanted: str) -> list[dict[str, object]]:
        return [line for line in log_lines(platform.logs / file) if line.get("request_id") == wanted]

    for wanted, method, path, status in (
        (rid, "POST", "/api/v1/people", 202),
        (own, "GET", "/engagement/", 200),
    ):
        for file in ("nginx.log", "engagement.log"):
            [line] = await eventually(lambda f=file, w=wanted: asyncio.sleep(0, lines_with(f, w)), bool)
            assert (line["method"], line["path"], line["status"]) == (method, path, status), line
            assert "secret" not in json.dumps(line)


async def test_no_log_keeps_a_consent_links_token(platform: Platform) -> None:
    token = secrets.token_urlsafe(32)
    rid = f"confirm-{uuid.uuid4().hex[:12]}"
    async with aiohttp.ClientSession(platform.address) as http:
        opened = await http.get(f"/confirm/{token}", headers={"X-Request-Id": rid})
        assert opened.status == 404  # no such link; what matters is what the logs keep of it
    [line] = await eventually(
        lambda: asyncio.sleep(
            0, [x for x in log_lines(platform.logs / "nginx.log") if x.get("request_id") == rid]
        ),
        bool,
    )
    assert line["path"] == "/confirm/{token}"
    assert token not in (platform.logs / "nginx.log").read_text()


async def test_metrics_stay_on_the_service_port(platform: Platform) -> None:
    async with aiohttp.ClientSession() as http:
        for spec in SERVICES:
            for path in (f"/{spec.name}/metrics", "/metrics"):
                hidden = await http.get(f"{platform.address}{path.lstrip('/')}")
                assert hidden.status == 404, path
                assert "civic_http_requests_total" not in await hidden.text()
            port = platform.settings.port_of(spec.name)
            direct = await http.get(f"http://{platform.settings.host}:{port}/metrics")
            assert direct.status == 200
            assert "civic_http_requests_total" in await direct.text()


async def test_what_no_service_claims_is_a_problem_or_a_translated_page(platform: Platform) -> None:
    async with aiohttp.ClientSession(platform.address) as http:
        api = await http.delete("/api/v9/nothing", headers={"X-Request-Id": "fuzz-test-api-404"})
        assert api.status == 404
        assert api.content_type == "application/problem+json"
        assert api.headers["X-Request-Id"] == "fuzz-test-api-404"
        page = await http.get(
            "/nothing/here", headers={"Accept-Language": "es", "X-Request-Id": "fuzz-page-404"}
        )
        assert page.status == 404
        assert page.content_type == "text/html"
        text = await page.text()
        assert "Página no encontrada" in text and "fuzz-page-404" in text
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        too_large = await http.post(
            "/api/v1/people",
            data=b" " * (platform.settings.max_body_bytes + 1),
            headers={"Content-Type": "application/json", "X-Request-Id": "fuzz-test-api-413"},
        )
        assert too_large.status == 413
        assert too_large.content_type == "application/problem+json"
        assert too_large.headers["X-Request-Id"] == "fuzz-test-api-413"
