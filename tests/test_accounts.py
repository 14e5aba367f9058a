"""Accounts and sessions in engagement, against the real PostgreSQL: sign-in and sign-out pages,
the session check nginx makes, rate limits, CSRF, the accounts and audit API, the CLI."""

import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from services.engagement.accounts import api as accounts_api
from services.engagement.accounts.admins import admin_account, create_admin
from services.engagement.accounts.credentials import session_hash
from services.engagement.app import SPEC as ENGAGEMENT
from shared.auth import ACCOUNT_HEADER, ROLES_HEADER, SESSION_CHECK_PATH, SESSION_COOKIE
from shared.bus import Bus
from shared.runtime import build_app
from shared.settings import Settings
from tests.support.launcher import environment

PASSWORD = "correct horse battery staple"


# Attempts are counted per fixed window aligned to the clock (every 15 minutes): a test that
# crossed a window's end would start counting again and miss its limit (seen once in a full
# run). A window of some thirty years keeps each test inside one.
LONG_WINDOW_S = 10**9


@pytest.fixture(autouse=True)
def _one_window_for_the_whole_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts_api, "LOGIN_WINDOW_S", LONG_WINDOW_S)


@pytest.fixture
async def engagement(
    settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus
) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(build_app(ENGAGEMENT, settings, pools["engagement"], bus)))
    await client.start_server()
    yield client
    await client.close()


def address(name: str = "admin") -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.org"


async def an_admin(pool: asyncpg.Pool, email: str | None = None) -> str:
    email = email or address()
    async with pool.acquire() as conn:
        assert await create_admin(conn, admin_account(email, "Ada Admin", PASSWORD)) is not None
    return email


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def signing_in(client: TestClient, email: str, password: str = PASSWORD) -> ClientResponse:
    page = await client.get("/login")
    form = {"csrf": csrf_of(await page.text()), "email": email, "password": password}
    return await client.post("/login", data=form, allow_redirects=False)


async def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> int:
    return (await signing_in(client, email, password)).status


async def as_nginx_would(client: TestClient) -> dict[str, str]:
    """What nginx passes on after asking engagement about the browser's session cookie."""
    checked = await client.get(SESSION_CHECK_PATH)
    assert checked.status == 200
    return {name: checked.headers[name] for name in (ACCOUNT_HEADER, ROLES_HEADER) if name in checked.headers}


async def test_signing_in_names_the_account_to_every_request_and_signing_out_ends_it(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = await an_admin(pools["engagement"])
    assert await as_nginx_would(engagement) == {}  # nobody yet

    signed_in = await signing_in(engagement, email.upper())  # addresses are matched case-blind
    assert signed_in.status == 303
    set_cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Secure" not in set_cookie
    cookie = signed_in.cookies[SESSION_COOKIE]
    headers = await as_nginx_would(engagement)
    assert headers[ROLES_HEADER] == "admin"
    me = await engagement.get("/api/v1/accounts/me", headers=headers)
    assert me.status == 200
    assert (await me.json())["email"] == email

    console = await engagement.get("/console/", headers=headers)
    assert console.status == 200
    await engagement.post("/logout", data={"csrf": csrf_of(await console.text())}, allow_redirects=False)
    assert await as_nginx_would(engagement) == {}
    # The old cookie, replayed, names nobody either: the session is gone from the database.
    replay = await engagement.get(SESSION_CHECK_PATH, headers={"Cookie": f"{SESSION_COOKIE}={cookie.value}"})
    assert ACCOUNT_HEADER not in replay.headers


async def test_signing_in_again_rotates_the_session_and_ends_the_old_one(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = await an_admin(pools["engagement"])
    assert await sign_in(engagement, email) == 303
    first = engagement.session.cookie_jar.filter_cookies(engagement.make_url("/"))[SESSION_COOKIE].value
    assert await sign_in(engagement, email) == 303
    second = engagement.session.cookie_jar.filter_cookies(engagement.make_url("/"))[SESSION_COOKIE].value
    assert first != second
    assert (
        await pools["engagement"].fetchval(
            "SELECT count(*) FROM sessions WHERE id_hash = $1", session_hash(first)
        )
        == 0
    )


async def test_the_cookie_is_secure_behind_tls(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = await an_admin(pools["engagement"])
    page = await engagement.get("/login")
    form = {"csrf": csrf_of(await page.text()), "email": email, "password": PASSWORD}
    response = await engagement.post(
        "/login", data=form, allow_redirects=False, headers={"X-Forwarded-Proto": "https"}
    )
    assert response.status == 303
    assert "Secure" in response.headers["Set-Cookie"]


async def test_a_wrong_password_is_said_beside_the_field_keeping_the_address(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = await an_admin(pools["engagement"])
    page = await engagement.get("/login?lang=es")
    form = {"csrf": csrf_of(await page.text()), "email": email, "password": "not the password"}
    refused = await engagement.post("/login", data=form)
    assert refused.status == 422
    html = await refused.text()
    assert f'value="{email}"' in html
    assert 'id="password-error"' in html and 'aria-describedby="password-error"' in html
    assert "no corresponden" in html  # in Spanish, the language chosen
    assert await as_nginx_would(engagement) == {}


async def test_a_disabled_account_cannot_sign_in_and_its_sessions_stop_at_once(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = await an_admin(pools["engagement"])
    assert await sign_in(engagement, email) == 303
    assert ACCOUNT_HEADER in await as_nginx_would(engagement)
    await pools["engagement"].execute("UPDATE accounts SET disabled = true WHERE email = $1", email)
    assert await as_nginx_would(engagement) == {}
    engagement.session.cookie_jar.clear()
    assert await sign_in(engagement, email) == 422


async def test_a_removed_role_stops_at_once(engagement: TestClient, pools: dict[str, asyncpg.Pool]) -> None:
    email = await an_admin(pools["engagement"])
    assert await sign_in(engagement, email) == 303
    await pools["engagement"].execute(
        "DELETE FROM account_roles WHERE account_id = (SELECT id FROM accounts WHERE email = $1)", email
    )
    headers = await as_nginx_would(engagement)
    assert headers.get(ROLES_HEADER, "") == ""
    assert (await engagement.get("/api/v1/audit", headers=headers)).status == 403


async def test_a_login_form_without_its_token_is_refused(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = await an_admin(pools["engagement"])
    await engagement.get("/login")  # the double-submit cookie is set, but the form lacks the token
    forged = await engagement.post(
        "/login", data={"email": email, "password": PASSWORD}, allow_redirects=False
    )
    assert forged.status == 403
    assert SESSION_COOKIE not in forged.cookies
    # And signing out needs the token too: a cross-site form cannot sign anyone out.
    assert await sign_in(engagement, email) == 303
    assert (await engagement.post("/logout", data={"csrf": "guessed"})).status == 403
    assert ACCOUNT_HEADER in await as_nginx_would(engagement)


async def test_sign_in_attempts_are_limited_per_account(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = await an_admin(pools["engagement"])
    for _ in range(accounts_api.LOGIN_ATTEMPTS_PER_ACCOUNT):
        assert await sign_in(engagement, email, "wrong password!") == 422
    # Over the limit even the right password waits: the limit counts attempts, not failures.
    page = await engagement.get("/login")
    form = {"csrf": csrf_of(await page.text()), "email": email, "password": PASSWORD}
    limited = await engagement.post("/login", data=form, allow_redirects=False)
    assert limited.status == 429
    assert 0 < int(limited.headers["Retry-After"]) <= accounts_api.LOGIN_WINDOW_S
    assert f'value="{email}"' in await limited.text()
    # Another account from the same address is not held back by this one.
    assert await sign_in(engagement, await an_admin(pools["engagement"])) == 303


async def test_sign_in_attempts_are_limited_per_address(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    client = f"198.51.100.{uuid.uuid4().int % 250}"
    headers = {"X-Forwarded-For": client}  # the test client's peer is loopback, as nginx's is
    for number in range(accounts_api.LOGIN_ATTEMPTS_PER_ADDRESS):
        page = await engagement.get("/login")
        form = {
            "csrf": csrf_of(await page.text()),
            "email": address(f"g{number}"),
            "password": "guess guess guess",
        }
        assert (await engagement.post("/login", data=form, headers=headers)).status == 422
    page = await engagement.get("/login")
    form = {
        "csrf": csrf_of(await page.text()),
        "email": await an_admin(pools["engagement"]),
        "password": PASSWORD,
    }
    assert (await engagement.post("/login", data=form, headers=headers, allow_redirects=False)).status == 429


async def test_after_sign_in_only_a_path_on_this_site_is_followed(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = await an_admin(pools["engagement"])
    for wanted, landed in (
        ("/console/audit", "/console/audit"),
        ("//evil.example/", "/console/"),
        ("https://evil.example/", "/console/"),
    ):
        page = await engagement.get("/login", params={"next": wanted})
        form = {"csrf": csrf_of(await page.text()), "email": email, "password": PASSWORD, "next": wanted}
        response = await engagement.post("/login", data=form, allow_redirects=False)
        assert response.headers["Location"] == landed


async def test_an_admin_creates_an_organizer_and_the_audit_log_says_who(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = await an_admin(pools["engagement"])
    assert await sign_in(engagement, email) == 303
    headers = {**await as_nginx_would(engagement), "X-Request-Id": f"audit-{uuid.uuid4().hex[:12]}"}
    organisation = uuid.uuid4()
    organizer = address("organizer")
    created = await engagement.post(
        "/api/v1/accounts",
        json={
            "email": organizer,
            "display_name": "Olu Organizer",
            "password": PASSWORD,
            "roles": [{"role": "organizer", "scope": str(organisation)}],
        },
        headers=headers,
    )
    assert created.status == 201, await created.text()
    account = await created.json()
    assert account["roles"] == [f"organizer:{organisation}"]
    again = await engagement.post(
        "/api/v1/accounts",
        json={"email": organizer, "display_name": "Twice", "password": PASSWORD, "roles": []},
        headers=headers,
    )
    assert again.status == 409

    audit = await (await engagement.get("/api/v1/audit", headers=headers)).json()
    [entry] = [e for e in audit["entries"] if e["request_id"] == headers["X-Request-Id"]]
    assert entry["action"] == "account.created"
    assert entry["target"] == f"account:{account['id']}"
    assert entry["roles"] == ["admin"]
    page = await engagement.get("/console/audit", headers=headers)
    assert headers["X-Request-Id"] in await page.text()

    # The organizer signs in and sees their role; the audit log is not theirs to read.
    engagement.session.cookie_jar.clear()
    assert await sign_in(engagement, organizer) == 303
    theirs = await as_nginx_would(engagement)
    assert theirs[ROLES_HEADER] == f"organizer:{organisation}"
    assert (await engagement.get("/api/v1/audit", headers=theirs)).status == 403
    assert (await engagement.get("/console/audit", headers=theirs)).status == 403


async def test_a_grant_needs_its_scope_and_admin_has_none(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    assert await sign_in(engagement, await an_admin(pools["engagement"])) == 303
    headers = await as_nginx_would(engagement)
    for roles in (
        [{"role": "organizer"}],
        [{"role": "admin", "scope": str(uuid.uuid4())}],
        [{"role": "owner"}],
    ):
        refused = await engagement.post(
            "/api/v1/accounts",
            json={"email": address(), "display_name": "X", "password": PASSWORD, "roles": roles},
            headers=headers,
        )
        assert refused.status == 422, roles
        assert refused.content_type == "application/problem+json"


async def test_the_audit_log_is_append_only(pools: dict[str, asyncpg.Pool]) -> None:
    pool = pools["engagement"]
    await pool.execute(
        """INSERT INTO audit_log (account_id, roles, action, target, service, request_id)
           VALUES ($1, '{admin}', 'test', 'thing:1', 'engagement', 'r')""",
        uuid.uuid4(),
    )
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await pool.execute(statement)


async def test_signed_out_pages_redirect_to_sign_in_and_the_api_answers_401(engagement: TestClient) -> None:
    page = await engagement.get("/console/audit?x=1", allow_redirects=False)
    assert page.status == 303
    location = URL(page.headers["Location"])
    assert (location.path, location.query["next"]) == ("/login", "/console/audit?x=1")
    api = await engagement.get("/api/v1/accounts/me")
    assert api.status == 401
    assert api.content_type == "application/problem+json"
    # A client cannot name itself: only nginx sets these headers, and forged ones that do not
    # parse name nobody. (A well-formed forgery sent to the loopback port is what the port's
    # binding to loopback guards; through nginx it is overwritten, see test_access_control.)
    forged = await engagement.get(
        "/api/v1/accounts/me", headers={ACCOUNT_HEADER: "me", ROLES_HEADER: "admin"}
    )
    assert forged.status == 401


def test_the_cli_creates_the_first_admin_reading_the_password_from_stdin(
    settings: Settings, tmp_path: object
) -> None:
    email = address("first")
    env = environment(settings, tmp_path)  # type: ignore[arg-type]
    argv = [sys.executable, "-m", "services.engagement.accounts", "create-admin", "--email", email]
    done = subprocess.run(argv, input=f"{PASSWORD}\n", capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    again = subprocess.run(argv, input=f"{PASSWORD}\n", capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 1 and "exists already" in again.stderr
    short = subprocess.run(
        [*argv[:-1], address("short")], input="short\n", capture_output=True, text=True, env=env, timeout=60
    )
    assert short.returncode == 1 and "password" in short.stderr
