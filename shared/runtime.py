"""How a service process is wired and run: the web app, its outbox relay and its consumers.

    python -m services.<name> migrate | declare | run [--roles web,relay,consumer]

Each role can run in its own process (and as many replicas as needed); by default one process
runs all three.
"""

import argparse
import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import asyncpg
import jinja2
from aiohttp import web

from shared.bus import Bus
from shared.consumer import Consumer, Subscription
from shared.db import create_pool, grant_serving_role, migration_url, serving_role
from shared.http import (
    API_PREFIX,
    BUS,
    POOL,
    SERVICE,
    SETTINGS,
    Handler,
    add_operations_routes,
    request_context,
    stamp_headers,
)
from shared.i18n import gettext_, language_context, language_middleware, ngettext_
from shared.logs import configure_logging
from shared.migrations import discover, migrate
from shared.openapi import Operation, openapi_document
from shared.outbox import OutboxRelay
from shared.retention import keep_tidy
from shared.settings import Settings, get_settings
from shared.topology import declare_consumer

log = logging.getLogger(__name__)

SHARED_TEMPLATES = Path(__file__).parent / "templates"
ROLES = ("web", "relay", "consumer")


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # also its PostgreSQL schema
    directory: Path  # holds migrations/ and templates/
    add_routes: Callable[[web.Application], None]
    # Paths the reverse proxy sends here ("= /" is an exact match, others are prefixes).
    public_paths: tuple[str, ...]
    subscriptions: tuple[Subscription, ...] = field(default=())
    operations: tuple[Operation, ...] = field(default=())
    # Loops started with the relay role, e.g. a sender of outgoing mail claimed with SKIP LOCKED.
    background: tuple[Callable[[asyncpg.Pool, Settings], Coroutine[Any, Any, None]], ...] = field(default=())

    @property
    def migrations(self) -> Path:
        return self.directory / "migrations"


def build_app(spec: ServiceSpec, settings: Settings, pool: asyncpg.Pool, bus: Bus) -> web.Application:
    app = web.Application(
        middlewares=[request_context, _page_middlewares], client_max_size=settings.max_body_bytes
    )
    app[SERVICE], app[POOL], app[BUS], app[SETTINGS] = spec.name, pool, bus, settings
    app.on_response_prepare.append(stamp_headers)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(spec.directory / "templates"),
                jinja2.FileSystemLoader(SHARED_TEMPLATES),
            ]
        ),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Run by _page_middlewares, for pages only (given to setup(), they would run on every request).
    app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY] = (_page_context, language_context)
    env.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
    add_operations_routes(app)
    document = openapi_document(spec.name, spec.operations)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get(f"/{spec.name}/openapi.json", openapi)
    spec.add_routes(app)
    return app


@web.middleware
async def _page_middlewares(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The reader's language and the templates' context, for pages. The JSON API renders no
    template and answers in English: skipping both saves about a sixth of a registration's CPU."""
    if request.path.startswith(API_PREFIX):
        return await handler(request)
    with_context = functools.partial(aiohttp_jinja2.context_processors_middleware, handler=handler)
    return await language_middleware(request, with_context)


async def _page_context(request: web.Request) -> dict[str, str]:
    return {"service": request.app[SERVICE]}


async def apply_migrations(spec: ServiceSpec, settings: Settings) -> list[str]:
    """As the owner; the serving role gets its grants on what the migrations create."""
    conn = await asyncpg.connect(migration_url(settings))
    try:
        role = await serving_role(conn, settings)
        if role:
            await grant_serving_role(conn, role)
        applied = await migrate(conn, spec.name, discover(spec.migrations))
        if role:  # it may see which migrations ran, never record or erase one
            await conn.execute(f"REVOKE INSERT, UPDATE, DELETE ON {spec.name}.schema_migrations FROM {role}")
        return applied
    finally:
        await conn.close()


async def declare_topology(
    bus: Bus, subscriptions: Iterable[Subscription], *, pool: asyncpg.Pool | None = None
) -> None:
    """Declare the consumers' queues. Done before anything publishes, so no event waits in the
    unrouted queue for want of its consumer's. With the service's pool, keys a consumer no
    longer handles are also unbound (see shared/topology.py)."""
    for sub in subscriptions:
        await declare_consumer(bus, sub.consumer, sub.routing_keys, pool)


async def serve(spec: ServiceSpec, settings: Settings, roles: set[str]) -> None:
    """Run the chosen roles until SIGTERM or SIGINT arrives."""
    stop = _stop_on_signals()
    pool = await create_pool(settings, spec.name)
    bus = Bus(settings, name=f"{spec.name}:{','.join(sorted(roles))}")
    await bus.connect()
    tasks: list[asyncio.Task[None]] = []
    runner: web.AppRunner | None = None
    try:
        if "relay" in roles:
            tasks.append(asyncio.create_task(OutboxRelay(pool, bus, spec.name, settings).run()))
            tasks.append(asyncio.create_task(keep_tidy(pool, settings, spec.name)))
            tasks.extend(asyncio.create_task(job(pool, settings)) for job in spec.background)
        if "consumer" in roles:
            for sub in spec.subscriptions:
                tasks.append(asyncio.create_task(Consumer(bus, pool, sub, settings).run()))
        if "web" in roles:
            runner = web.AppRunner(build_app(spec, settings, pool, bus), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, settings.host, settings.port_of(spec.name)).start()
        log.info("%s running roles %s", spec.name, sorted(roles))
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter:
                task.result()  # a role that stopped on its own is a crash: surface it
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if runner is not None:
            await runner.cleanup()
        await bus.close()
        await pool.close()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def main(spec: ServiceSpec) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m services.{spec.name}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply this service's migrations")
    sub.add_parser("declare", help="declare this service's queues on the broker")
    run = sub.add_parser("run", help="run the service")
    run.add_argument("--roles", default=",".join(ROLES), help=f"comma-separated subset of {','.join(ROLES)}")
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(spec.name, settings.log_level, settings.log_json)
    if args.command == "migrate":
        applied = asyncio.run(apply_migrations(spec, settings))
        print(f"{spec.name}: applied {len(applied)} migration(s)")
    elif args.command == "declare":
        asyncio.run(_declare(spec, settings))
    else:
        roles = {r.strip() for r in args.roles.split(",") if r.strip()}
        if not roles or roles - set(ROLES):
            parser.error(f"--roles must be a subset of {','.join(ROLES)}")
        import uvloop

        uvloop.run(serve(spec, settings, roles))


async def _declare(spec: ServiceSpec, settings: Settings) -> None:
    bus = Bus(settings)
    await bus.connect()
    try:
        await declare_topology(bus, spec.subscriptions)
    finally:
        await bus.close()
