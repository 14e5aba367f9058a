"""Every protected route of the three services refuses whoever may not use it, through nginx as
`make run` starts it. Generated from each app's own route table and each ServiceSpec's
operations: a route added later is covered without editing this test, and an API route that no
operation declares fails it."""

import asyncio
import re
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest

from deploy.stack import SERVICES
from services.engagement.accounts import store
from services.engagement.accounts.api import SESSION_LIFETIME
from services.engagement.accounts.credentials import hash_password, new_session_id, session_hash
from shared.auth import ACCOUNT_HEADER, ROLES_HEADER, SESSION_COOKIE, Account, Grant, Need, Role, need_of
from shared.bus import Bus
from shared.db import drop_database
from shared.openapi import Operation
from shared.runtime import ServiceSpec, build_app
from shared.settings import Settings
from tests.support.launcher import free_port, read_until, start_platform

pytestmark = pytest.mark.e2e

ORGANISATION, OTHER_ORGANISATION = uuid.uuid4(), uuid.uuid4()
COP, OTHER_COP = uuid.uuid4(), uuid.uuid4()
# Who signs in: one account per set of grants.
PEOPLE: dict[str, frozenset[Grant]] = {
    "admin": frozenset({Grant(role=Role.ADMIN)}),
    "organizer": frozenset({Grant(role=Role.ORGANIZER, scope=ORGANISATION)}),
    "other organizer": frozenset({Grant(role=Role.ORGANIZER, scope=OTHER_ORGANISATION)}),
    "CoP lead": frozenset({Grant(role=Role.COP_LEAD, scope=COP)}),
    "other CoP lead": frozenset({Grant(role=Role.COP_LEAD, scope=OTHER_COP)}),
    "no role": frozenset(),
}
# A path's parameters, filled so that its thing belongs to ORGANISATION or COP.
PARAMETERS = {"organisation_id": ORGANISATION, "cop_id": COP}


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str  # its template, e.g. /api/v1/organisations/{organisation_id}
    need: Need | None
    operation: Operation | None

    @property
    def on_api(self) -> bool:
        return self.path.startswith("/api/")

    def url(self) -> str:
        return re.sub(
            r"\{(\w+)(:[^}]*)?\}", lambda m: str(PARAMETERS.get(m.group(1), uuid.uuid4().hex)), self.path
        )

    def scope(self) -> uuid.UUID | None:
        """The organisation or CoP the thing at this path belongs to, when its path names one."""
        names = re.findall(r"\{(\w+)", self.path)
        return next((PARAMETERS[name] for name in names if name in PARAMETERS), None)

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"


def route_table(spec: ServiceSpec, settings: Settings) -> list[Route]:
    """The app's routes as its router holds them (nothing is served or connected)."""
    app = build_app(spec, settings, pool=None, bus=Bus(settings))  # type: ignore[arg-type]
    operations = {(op.method, op.path): op for op in spec.operations}
    routes = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path")
        if route.method == "HEAD" or path is None:  # HEAD mirrors GET; static files have a prefix
            continue
        routes.append(
            Route(spec.name, route.method, path, need_of(route.handler), operations.get((route.method, path)))
        )
    return routes


ROUTES = [route for spec in SERVICES for route in route_table(spec, Settings())]
PROTECTED = [route for route in ROUTES if route.need is not None]


def test_every_api_route_is_a_documented_operation_with_the_access_its_handler_checks() -> None:
    for route in ROUTES:
        if not route.on_api:
            continue
        assert route.operation is not None, f"{route}: an API route no operation declares"
        if route.operation.public:
            assert route.need is None, f"{route}: documented public, but its handler needs an account"
        else:
            assert route.need == route.operation.need, (
                f"{route}: documented {route.operation.need}, checks {route.need}"
            )
    declared = {(spec.name, op.method, op.path) for spec in SERVICES for op in spec.operations}
    assert declared <= {(r.service, r.method, r.path) for r in ROUTES}, "an operation with no route"
    assert PROTECTED, "nothing to check"


def wrong_people(route: Route) -> list[str]:
    """Who is signed in but may not use this route (a wrong role, or the right role of another
    organisation or CoP than the path names): they must get 403."""
    assert route.need is not None
    need = Need(route.need.role, route.scope() or route.need.scope) if route.need.role else route.need
    return [
        name for name, grants in PEOPLE.items() if not need.met_by(Account(id=uuid.uuid4(), grants=grants))
    ]


@dataclass(frozen=True)
class Platform:
    address: str
    settings: Settings
    cookies: dict[str, str]  # a live session cookie per name in PEOPLE


@pytest.fixture(scope="module")
async def platform(
    run_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    settings = run_settings.with_database(f"civic_acl_{uuid.uuid4().hex[:8]}").model_copy(
        update={
            "bus_prefix": f"acl{uuid.uuid4().hex[:6]}.",
            **{
                f"{name}_port": free_port()
                for name in ("proxy", "engagement", "surveys", "notifications", "smtp")
            },
        }
    )
    launcher = await start_platform(settings, tmp_path_factory.mktemp("run"), "--no-demo")
    assert launcher.stdout is not None
    try:
        line = await read_until(launcher.stdout, r"Open http://", [])
        yield Platform(line.split("Open ", 1)[1].strip().rstrip("/"), settings, await _sessions(settings))
    finally:
        if launcher.returncode is None:
            launcher.send_signal(signal.SIGINT)
        await asyncio.wait_for(launcher.stdout.read(), timeout=60)
        await launcher.wait()
        await drop_database(settings.migration_database_url)


async def _sessions(settings: Settings) -> dict[str, str]:
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": "engagement"})
    cookies = {}
    try:
        password_hash = await hash_password(uuid.uuid4().hex)
        for name, grants in PEOPLE.items():
            account_id = uuid.uuid4()
            await store.insert_account(conn, account_id, f"{account_id}@example.org", name, password_hash)
            await store.grant(conn, account_id, list(grants))
            cookies[name] = new_session_id()
            await store.start_session(conn, session_hash(cookies[name]), account_id, SESSION_LIFETIME, None)
    finally:
        await conn.close()
    return cookies


async def _call(platform: Platform, route: Route, who: str | None, **headers: str) -> aiohttp.ClientResponse:
    cookie = {SESSION_COOKIE: platform.cookies[who]} if who else {}
    async with aiohttp.ClientSession(cookies=cookie) as http:
        response = await http.request(
            route.method, platform.address + route.url(), json={}, headers=headers, allow_redirects=False
        )
        await response.read()
        return response


@pytest.mark.parametrize("route", PROTECTED, ids=str)
async def test_a_protected_route_refuses_whoever_may_not_use_it(platform: Platform, route: Route) -> None:
    anonymous = await _call(platform, route, None)
    # A client naming itself admin is nobody: nginx replaces the headers with the session's answer.
    forged = await _call(platform, route, None, **{ACCOUNT_HEADER: str(uuid.uuid4()), ROLES_HEADER: "admin"})
    for response in (anonymous, forged):
        if route.on_api:
            assert response.status == 401, route
            assert response.content_type == "application/problem+json"
        else:
            assert response.status == 303, route
            assert response.headers["Location"].startswith("/login?next=")
    for who in wrong_people(route):
        assert (await _call(platform, route, who)).status == 403, f"{route} as {who}"
    # Not refused everything: admin passes the check (whatever the handler then says of `{}`).
    assert (await _call(platform, route, "admin")).status not in (401, 403), route


async def test_the_documents_declare_the_session_scheme_on_every_protected_operation(
    platform: Platform,
) -> None:
    async with aiohttp.ClientSession() as http:
        for spec in SERVICES:
            document = await (await http.get(f"{platform.address}/{spec.name}/openapi.json")).json()
            for op in spec.operations:
                documented = document["paths"][op.path][op.method.lower()]
                assert documented["security"] == ([] if op.public else [{"session": []}]), op
                if not op.public:
                    assert {"401", "403"} <= set(documented["responses"]), op
            assert document["components"]["securitySchemes"]["session"]["name"] == SESSION_COOKIE
