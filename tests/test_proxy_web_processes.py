"""nginx in front of a web role that runs in several processes (the bench's survey_ingest runs
surveys' web role so): each process listens on a port of its own, and nginx, told those ports,
spreads the requests over all of them."""

import asyncio
import contextlib
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from deploy.proxy import nginx_config, write_nginx_config
from deploy.stack import SERVICES
from shared.settings import Settings
from tests.support.launcher import free_port
from tests.support.waiting import eventually


def test_a_service_without_web_ports_has_its_own_port_only(tmp_path: Path) -> None:
    settings = Settings()
    config = nginx_config(list(SERVICES), settings, tmp_path, {"surveys": [9001, 9002]})
    assert (
        f"upstream surveys {{ server {settings.host}:9001; server {settings.host}:9002; keepalive 16; }}"
        in config
    )
    assert (
        f"upstream engagement {{ server {settings.host}:{settings.engagement_port}; keepalive 16; }}"
        in config
    )
    assert config.replace(f"9001; server {settings.host}:9002", str(settings.surveys_port)) == nginx_config(
        list(SERVICES), settings, tmp_path
    )


async def _process(port: int) -> web.AppRunner:
    """A stand-in for one web process: answers which port it is."""

    async def which(_request: web.Request) -> web.Response:
        return web.Response(text=str(port))

    app = web.Application()
    app.router.add_get("/surveys/which", which)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, Settings().host, port).start()
    return runner


@contextlib.asynccontextmanager
async def _nginx(conf: Path, prefix: Path) -> AsyncIterator[None]:
    nginx = await asyncio.create_subprocess_exec(
        shutil.which("nginx") or "/usr/sbin/nginx",
        *("-c", str(conf), "-p", str(prefix), "-g", "daemon off;"),
        stdout=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        nginx.send_signal(signal.SIGQUIT)
        await nginx.wait()


async def test_requests_reach_every_process_of_the_web_role(settings: Settings, tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    runners = [await _process(port) for port in ports]
    proxied = settings.model_copy(update={"proxy_port": free_port(), "engagement_port": free_port()})
    prefix = tmp_path / "nginx"
    conf = write_nginx_config(list(SERVICES), proxied, prefix, {"surveys": ports})
    seen: set[str] = set()
    try:
        async with (
            _nginx(conf, prefix),
            aiohttp.ClientSession(f"http://{proxied.host}:{proxied.proxy_port}") as http,
        ):

            async def answered_by_both() -> set[str]:
                try:
                    async with http.get("/surveys/which") as response:
                        if response.status == 200:
                            seen.add(await response.text())
                except aiohttp.ClientError:
                    pass  # nginx not listening yet
                return seen

            assert await eventually(answered_by_both, lambda s: len(s) == 2) == {str(p) for p in ports}
    finally:
        for runner in runners:
            await runner.cleanup()
