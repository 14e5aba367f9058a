"""A resident's own page, opened by a link mailed to their address: the same answer for every
address, the link single use and stored hashed, the session of its own, changes recorded and
announced, the download from all three services (saying what is missing), and erasure.

Against the real PostgreSQL and RabbitMQ, the link received over SMTP by an in-process aiosmtpd;
surveys and notifications serve their internal endpoints on loopback ports of their own."""

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from deploy.proxy import nginx_config
from deploy.stack import SERVICES
from services.engagement.app import SPEC as ENGAGEMENT
from services.engagement.people import PersonRegistration
from services.engagement.registration import register_person, token_hash
from services.engagement.residents import pages as resident_pages
from services.engagement.residents import tokens
from services.notifications.app import SPEC as NOTIFICATIONS
from services.surveys.app import SPEC as SURVEYS
from shared.bus import Bus
from shared.runtime import build_app
from shared.settings import Settings
from tests.support.launcher import free_port
from tests.support.waiting import eventually
from tests.test_people_registration import (
    Mailbox,
    _async,
    _csrf,
    address,
    events_of,
    platform_settings,
    running,
    smtp,
)

# Attempts are counted per fixed window aligned to the clock (every 15 minutes): a test that
# crossed a window's end would start counting again and miss its limit (seen once in a full
# run). A window of some thirty years keeps each test inside one.
LONG_WINDOW_S = 10**9


@pytest.fixture(autouse=True)
def _one_window_for_the_whole_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resident_pages, "LOGIN_WINDOW_S", LONG_WINDOW_S)


__all__ = ["platform_settings", "running", "smtp"]  # fixtures shared with the registration tests

_LINK = re.compile(r"(http://\S+)/me/sign-in/([A-Za-z0-9_-]{32,128})")
PAGES_NEEDING_A_SESSION = [
    ("POST", "/me/details"),
    ("POST", "/me/consents"),
    ("GET", "/me/download"),
    ("GET", "/me/erase"),
    ("POST", "/me/erase"),
]


@pytest.fixture
def resident_settings(platform_settings: Settings) -> Settings:
    """The registration tests' settings, with surveys and notifications on ports of their own."""
    return platform_settings.model_copy(
        update={"surveys_port": free_port(), "notifications_port": free_port()}
    )


@pytest.fixture
async def engagement(
    resident_settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus
) -> AsyncIterator[TestClient]:
    # A client address of this test's own (nginx's X-Forwarded-For): the per-client limit is
    # counted in the database the run's tests share.
    client_address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    client = TestClient(
        TestServer(build_app(ENGAGEMENT, resident_settings, pools["engagement"], bus)),
        headers={"X-Forwarded-For": client_address},
    )
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def others(
    resident_settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus
) -> AsyncIterator[dict[str, web.AppRunner]]:
    """Surveys and notifications on their own loopback ports, as engagement finds them."""
    runners = {}
    for spec in (SURVEYS, NOTIFICATIONS):
        runner = web.AppRunner(build_app(spec, resident_settings, pools[spec.name], bus))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", resident_settings.port_of(spec.name)).start()
        runners[spec.name] = runner
    yield runners
    for runner in runners.values():
        await runner.cleanup()


async def registered(pool: asyncpg.Pool, **fields: Any) -> tuple[uuid.UUID, str]:
    email = address()
    async with pool.acquire() as conn:
        registration = await register_person(
            conn, PersonRegistration(display_name="Ana", email=email, postal_code="94607", **fields)
        )
    return registration.person_id, email


async def ask_for_link(client: TestClient, email: str) -> Any:
    csrf = _csrf(await (await client.get("/me")).text())
    return await client.post("/me", data={"csrf": csrf, "email": email})


async def signed_in(client: TestClient, pool: asyncpg.Pool, **fields: Any) -> tuple[uuid.UUID, str, str]:
    """A person registered and signed in by a link made as the page makes it; their id, address
    and the CSRF token of their page."""
    person_id, email = await registered(pool, **fields)
    token = tokens.new_secret()
    await pool.execute(
        "INSERT INTO resident_links VALUES ($1, $2, now() + interval '5 minutes')",
        token_hash(token),
        person_id,
    )
    path = f"/me/sign-in/{token}"
    csrf = _csrf(await (await client.get(path)).text())
    assert (await client.post(path, data={"csrf": csrf}, allow_redirects=False)).status == 303
    return person_id, email, _csrf(await (await client.get("/me")).text())


async def test_every_address_gets_the_same_answer_and_only_a_registered_one_a_link(
    engagement: TestClient, pools: dict[str, asyncpg.Pool], running: None, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp
    pool = pools["engagement"]
    person_id, known = await registered(pool, language="es")  # never asked to be contacted
    unknown = address("nadie")
    answers = []
    for typed in (known, unknown):
        response = await ask_for_link(engagement, typed)
        answers.append((response.status, (await response.text()).replace(typed, "ADDRESS")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200
    outbox = await pool.fetch(
        "SELECT payload FROM outbox WHERE payload->>'type' = 'person.sign_in_link_requested'"
    )
    assert [
        r["payload"]["data"]["email"] for r in outbox if r["payload"]["data"]["email"] in (known, unknown)
    ] == [known]

    [message] = await eventually(lambda: _async(mailbox.to(known)), lambda found: len(found) == 1)
    assert message["Subject"] == "Su enlace a su página en la plataforma de participación cívica"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = _LINK.search(text)
    assert found is not None and found.group(1) == "http://civic.test"
    stored = await pool.fetchval("SELECT token_hash FROM resident_links WHERE person_id = $1", person_id)
    assert stored == token_hash(found.group(2))  # only its hash is kept
    # Marked sent (and its token and address forgotten) when the sender's transaction commits.
    sent = await eventually(
        lambda: pools["notifications"].fetch(
            "SELECT kind, status, params FROM outgoing_mail WHERE person_id = $1", person_id
        ),
        lambda rows: [r["status"] for r in rows] != ["pending"],
    )
    assert [(r["kind"], r["status"], r["params"]) for r in sent] == [("sign_in_link", "sent", {})]


async def test_the_link_opens_a_session_of_its_own_once(
    engagement: TestClient, pools: dict[str, asyncpg.Pool], running: None, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp
    pool = pools["engagement"]
    person_id, email = await registered(pool)
    assert (await ask_for_link(engagement, email)).status == 200
    [message] = await eventually(lambda: _async(mailbox.to(email)), lambda found: len(found) == 1)
    found = _LINK.search(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert found is not None
    path = f"/me/sign-in/{found.group(2)}"

    page = await engagement.get(path)  # what a mail scanner does: nothing happens
    assert page.status == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert await pool.fetchval("SELECT used_at FROM resident_links WHERE person_id = $1", person_id) is None
    assert await pool.fetchval("SELECT count(*) FROM resident_sessions WHERE person_id = $1", person_id) == 0
    forged = await engagement.post(path, data={"csrf": "guessed"})
    assert forged.status == 403
    assert await pool.fetchval("SELECT used_at FROM resident_links WHERE person_id = $1", person_id) is None

    csrf = _csrf(await page.text())
    done = await engagement.post(path, data={"csrf": csrf}, allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/me"
    cookie = done.cookies[tokens.SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/me"
    assert int(cookie["max-age"]) == tokens.SESSION_LIFETIME.total_seconds()
    mine = await engagement.get("/me")
    assert email in await mine.text() and "Ana" in await mine.text()
    # Stored hashed, and not an organizer's session: the console still wants a sign-in.
    assert await pool.fetchval(
        "SELECT session_hash FROM resident_sessions WHERE person_id = $1", person_id
    ) == token_hash(cookie.value)
    console = await engagement.get("/console/", allow_redirects=False)
    assert console.status == 303 and console.headers["Location"].startswith("/login")

    engagement.session.cookie_jar.clear()
    assert (await engagement.get(path)).status == 410
    again_csrf = _csrf(await (await engagement.get("/me")).text())
    again = await engagement.post(path, data={"csrf": again_csrf}, allow_redirects=False)
    assert again.status == 410
    assert tokens.SESSION_COOKIE not in again.cookies


async def test_an_expired_or_unknown_link_opens_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    person_id, _ = await registered(pool)
    token = tokens.new_secret()
    await pool.execute(
        "INSERT INTO resident_links VALUES ($1, $2, now() - interval '1 second')",
        token_hash(token),
        person_id,
    )
    csrf = _csrf(await (await engagement.get("/me")).text())
    for path, status in ((f"/me/sign-in/{token}", 410), (f"/me/sign-in/{tokens.new_secret()}", 404)):
        assert (await engagement.get(path)).status == status
        response = await engagement.post(path, data={"csrf": csrf}, allow_redirects=False)
        assert response.status == status
        assert tokens.SESSION_COOKIE not in response.cookies
    assert await pool.fetchval("SELECT count(*) FROM resident_sessions WHERE person_id = $1", person_id) == 0


async def test_without_a_session_the_pages_send_you_to_ask_for_a_link(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    csrf = _csrf(await (await engagement.get("/me")).text())
    for method, path in PAGES_NEEDING_A_SESSION:
        for cookies in ({}, {tokens.SESSION_COOKIE: tokens.new_secret()}):
            engagement.session.cookie_jar.update_cookies(cookies)
            response = await engagement.request(method, path, data={"csrf": csrf}, allow_redirects=False)
            assert (response.status, response.headers.get("Location")) == (303, "/me"), (method, path)


async def test_details_refused_beside_the_field_keep_what_was_typed_and_change_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    person_id, _, csrf = await signed_in(engagement, pool)
    typed = {"csrf": csrf, "display_name": "Ana María", "phone": "12", "language": "es", "postal_code": "9?"}
    refused = await engagement.post("/me/details", data=typed)
    html = await refused.text()
    assert refused.status == 422
    for field in ("phone", "postal_code"):
        assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-error"', html), field
        assert f'id="{field}-error"' in html
    assert 'value="Ana María"' in html and 'value="12"' in html and 'value="9?"' in html
    assert "display_name-error" not in html
    row = await pool.fetchrow("SELECT display_name, phone, postal_code FROM people WHERE id = $1", person_id)
    assert tuple(row) == ("Ana", None, "94607")

    saved = await engagement.post(
        "/me/details",
        data={**typed, "phone": "+1 (510) 555-0100", "postal_code": "94612"},
        allow_redirects=False,
    )
    assert saved.status == 303
    row = await pool.fetchrow(
        "SELECT display_name, phone, language, postal_code FROM people WHERE id = $1", person_id
    )
    assert tuple(row) == ("Ana María", "+15105550100", "es", "94612")


async def test_consent_changed_on_the_page_is_recorded_as_the_persons_and_announced(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    person_id, _, csrf = await signed_in(engagement, pool)

    no_number = await engagement.post("/me/consents", data={"csrf": csrf, "consent": "sms:meetings"})
    assert no_number.status == 422 and 'id="consents-error"' in await no_number.text()
    assert await pool.fetchval("SELECT count(*) FROM consent_changes WHERE person_id = $1", person_id) == 0

    form = [("csrf", csrf), ("consent", "email:meetings"), ("consent", "email:campaign_news")]
    assert (await engagement.post("/me/consents", data=form, allow_redirects=False)).status == 303
    changes = await pool.fetch(
        """SELECT channel, purpose, granted, method, changed_by FROM consent_changes
           WHERE person_id = $1 ORDER BY id""",
        person_id,
    )
    assert {(r["purpose"], r["granted"], r["method"], r["changed_by"]) for r in changes} == {
        ("meetings", True, "resident_page", "person"),
        ("campaign_news", True, "resident_page", "person"),
    }
    form = [("csrf", csrf), ("consent", "email:campaign_news")]
    assert (await engagement.post("/me/consents", data=form, allow_redirects=False)).status == 303
    announced = [e for e in await events_of(pool, person_id) if e["type"] == "person.consent_changed"]
    assert [[c["purpose"] for c in e["data"]["consents"]] for e in announced] == [
        ["meetings", "campaign_news"],
        ["campaign_news"],
    ]
    assert all(e["actor"] is None for e in announced)  # the person themself


async def test_the_download_holds_all_three_parts_or_names_the_missing_one(
    engagement: TestClient,
    pools: dict[str, asyncpg.Pool],
    running: None,
    others: dict[str, web.AppRunner],
) -> None:
    pool = pools["engagement"]
    person_id, email, _ = await signed_in(engagement, pool, consent_to_contact=True)
    await eventually(  # both services heard of the registration
        lambda: pools["notifications"].fetchval(
            "SELECT email FROM contact_points WHERE person_id = $1", person_id
        ),
        lambda found: found == email,
    )
    await eventually(
        lambda: pools["surveys"].fetchval("SELECT count(*) FROM respondents WHERE person_id = $1", person_id),
        lambda found: found == 1,
    )
    member_of, asked_to_join = uuid.uuid4(), uuid.uuid4()
    for cop_id in (member_of, asked_to_join):
        await pool.execute("INSERT INTO cops (id, topic) VALUES ($1, $2)", cop_id, f"Download {cop_id}")
    await pool.execute(
        "INSERT INTO cop_members (id, cop_id, person_id) VALUES ($1, $2, $3)",
        uuid.uuid4(),
        member_of,
        person_id,
    )
    await pool.execute(
        "INSERT INTO cop_join_requests (id, cop_id, name, email) VALUES ($1, $2, 'Ana', $3)",
        uuid.uuid4(),
        asked_to_join,
        email.upper(),  # as typed on the join page
    )
    response = await engagement.get("/me/download")
    assert response.status == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="my-data.json"'
    document = json.loads(await response.text())
    assert (document["complete"], document["missing"]) == (True, [])
    parts = document["services"]
    assert parts["engagement"]["person"]["email"] == email
    # No region recorded: their ZIP's, where one exists (the demo, loaded by other tests, has it).
    zip_region = await pool.fetchval("SELECT name FROM regions WHERE geo_id = '860Z200US94607'")
    assert parts["engagement"]["person"]["region"] == zip_region
    assert [c["id"] for c in parts["engagement"]["cop_memberships"]] == [str(member_of)]
    assert [c["id"] for c in parts["engagement"]["cop_join_requests"]] == [str(asked_to_join)]
    assert parts["surveys"]["respondent"]["postal_code"] == "94607"
    assert parts["notifications"]["contact_point"]["email"] == email
    assert [m["kind"] for m in parts["notifications"]["outgoing_mail"]] == ["consent_request"]
    assert all("params" not in m for m in parts["notifications"]["outgoing_mail"])  # no link's token

    await others["notifications"].cleanup()
    partial = json.loads(await (await engagement.get("/me/download")).text())
    assert (partial["complete"], partial["missing"]) == (False, ["notifications"])
    assert partial["services"]["notifications"] is None
    assert partial["services"]["surveys"] == parts["surveys"]


async def test_erasing_takes_a_confirmation_erases_and_ends_the_session(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    person_id, email, _ = await signed_in(engagement, pool)
    confirm = await engagement.get("/me/erase")
    assert confirm.status == 200
    assert await pool.fetchval("SELECT count(*) FROM people WHERE id = $1", person_id) == 1
    forged = await engagement.post("/me/erase", data={"csrf": "guessed"})
    assert forged.status == 403
    assert await pool.fetchval("SELECT count(*) FROM people WHERE id = $1", person_id) == 1

    done = await engagement.post("/me/erase", data={"csrf": _csrf(await confirm.text())})
    assert done.status == 200
    assert await pool.fetchval("SELECT count(*) FROM people WHERE id = $1", person_id) == 0
    assert await pool.fetchval("SELECT count(*) FROM resident_sessions WHERE person_id = $1", person_id) == 0
    assert [e["type"] for e in await events_of(pool, person_id)] == ["person.erased"]
    after = await engagement.get("/me")
    assert 'action="/me"' in await after.text() and email not in await after.text()
    # An erased address gets the same answer as any other, and no link.
    assert (await ask_for_link(engagement, email)).status == 200
    assert [e["type"] for e in await events_of(pool, person_id)] == ["person.erased"]


async def test_signing_out_ends_the_session(engagement: TestClient, pools: dict[str, asyncpg.Pool]) -> None:
    pool = pools["engagement"]
    person_id, _, csrf = await signed_in(engagement, pool)
    out = await engagement.post("/me/sign-out", data={"csrf": csrf}, allow_redirects=False)
    assert (out.status, out.headers["Location"]) == (303, "/me?signed_out=1")
    assert await pool.fetchval("SELECT count(*) FROM resident_sessions WHERE person_id = $1", person_id) == 0


async def test_links_are_limited_per_address(engagement: TestClient, pools: dict[str, asyncpg.Pool]) -> None:
    person_id, email = await registered(pools["engagement"])
    statuses = [
        (await ask_for_link(engagement, email.upper())).status for _ in range(tokens.LINKS_PER_ADDRESS + 1)
    ]
    assert statuses == [200] * tokens.LINKS_PER_ADDRESS + [429]
    limited = await ask_for_link(engagement, email)
    assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0
    count = await pools["engagement"].fetchval(
        "SELECT count(*) FROM resident_links WHERE person_id = $1", person_id
    )
    assert count == tokens.LINKS_PER_ADDRESS


async def test_a_mistyped_address_is_refused_beside_the_field(engagement: TestClient) -> None:
    response = await ask_for_link(engagement, "not an address")
    html = await response.text()
    assert response.status == 422
    assert 'aria-describedby="email-error"' in html and 'value="not an address"' in html


async def test_nginx_routes_no_internal_path_and_blanks_the_links_token(tmp_path: Any) -> None:
    paths = [path.removeprefix("= ") for spec in SERVICES for path in spec.public_paths]
    assert not [path for path in paths if "/internal/people/x".startswith(path) and path != "/"]
    config = nginx_config(list(SERVICES), Settings(), tmp_path)
    assert '"~^/me/sign-in/" "/me/sign-in/{token}";' in config
    assert "location = /me {" in config and "location /me/ {" in config
