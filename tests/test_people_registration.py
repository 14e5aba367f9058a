"""Registering without telling anyone who is registered, confirming consent by a link sent to
the address (double opt-in), the rate limit, and contact data going only to notifications.

Against the real PostgreSQL and RabbitMQ, with mail sent over SMTP to an in-process aiosmtpd.
"""

import email
import email.policy
import re
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.engagement import demo
from services.engagement.app import SPEC as ENGAGEMENT
from services.engagement.people import PersonRegistration
from services.engagement.registration import Registration, register_person, token_hash
from services.notifications import mail
from services.notifications.app import SPEC as NOTIFICATIONS
from services.surveys.app import SPEC as SURVEYS
from shared.bus import Bus
from shared.consumer import Consumer
from shared.outbox import OutboxRelay
from shared.runtime import build_app, declare_topology
from shared.settings import Settings
from tests.support.waiting import eventually

Start = Callable[[Awaitable[None]], Any]
_LINK = re.compile(r"(http://\S+)/confirm/([A-Za-z0-9_-]{32,128})")


class Mailbox:
    """What the SMTP server received, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    # Controller(port=0) cannot check its own readiness: take a free port first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def platform_settings(settings: Settings, smtp: tuple[Mailbox, int]) -> Settings:
    return settings.model_copy(
        update={
            "smtp_port": smtp[1],
            "mail_poll_s": 0.05,
            "public_url": "http://civic.test",
            "registrations_per_client": 0,
        }
    )


@pytest.fixture
async def engagement(
    platform_settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus
) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(build_app(ENGAGEMENT, platform_settings, pools["engagement"], bus)))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def running(
    platform_settings: Settings, bus: Bus, pools: dict[str, asyncpg.Pool], background: Start
) -> None:
    """engagement's relay, both consumers and notifications' mail sender, as their roles run them."""
    for spec in (SURVEYS, NOTIFICATIONS):
        await declare_topology(bus, spec.subscriptions)
    background(OutboxRelay(pools["engagement"], bus, "engagement", platform_settings).run())
    for spec in (SURVEYS, NOTIFICATIONS):
        background(Consumer(bus, pools[spec.name], spec.subscriptions[0], platform_settings).run())
    for job in NOTIFICATIONS.background:
        background(job(pools["notifications"], platform_settings))


def address(name: str = "ana") -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.org"


async def asked_for_consent(pool: asyncpg.Pool) -> tuple[Registration, str]:
    """A person registered with consent to confirm, and the path of their link."""
    async with pool.acquire() as conn:
        registration = await register_person(
            conn, PersonRegistration(display_name="Ana", email=address(), consent_to_contact=True)
        )
    assert registration.confirmation_token is not None
    return registration, f"/confirm/{registration.confirmation_token}"


async def events_of(pool: asyncpg.Pool, person_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE payload->'data'->>'person_id' = $1 ORDER BY id", str(person_id)
    )
    return [r["payload"] for r in rows]


async def person_with(pool: asyncpg.Pool, email_address: str) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM people WHERE lower(email) = lower($1)", email_address)
    assert row is not None
    return row


async def test_a_registered_address_gets_the_same_answer_and_changes_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    taken = address()
    first = await engagement.post(
        "/api/v1/people",
        json={"display_name": "Ana", "email": taken, "consent_to_contact": True, "postal_code": "10013"},
    )
    again = await engagement.post(
        "/api/v1/people",
        json={"display_name": "Someone else", "email": taken.upper().replace("EXAMPLE", "example")},
    )
    fresh = await engagement.post("/api/v1/people", json={"display_name": "Bea", "email": address("bea")})

    answers = [(r.status, r.content_type, await r.read(), "Location" in r.headers) for r in (first, again)]
    assert answers[0] == answers[1] == (fresh.status, fresh.content_type, await fresh.read(), False)
    assert answers[0][0] == 202
    pool = pools["engagement"]
    person = await person_with(pool, taken)
    assert (person["display_name"], person["consent_to_contact"]) == ("Ana", True)
    assert await pool.fetchval("SELECT count(*) FROM people WHERE lower(email) = lower($1)", taken) == 1
    # One announcement and one consent request, from the first registration only.
    events = await events_of(pool, person["id"])
    assert [(e["type"], e["version"]) for e in events] == [
        ("person.registered", 2),
        ("person.consent_requested", 1),
    ]
    assert set(events[0]["data"]) == {"person_id", "language", "postal_code", "registered_at"}
    assert events[1]["data"]["email"] == taken


async def test_the_address_gets_one_confirmation_request_with_its_link(
    engagement: TestClient,
    running: None,
    smtp: tuple[Mailbox, int],
    pools: dict[str, asyncpg.Pool],
) -> None:
    mailbox, _port = smtp
    lucia = address("lucia")
    body = {"display_name": "Lucía", "email": lucia, "language": "es", "consent_to_contact": True}
    assert (await engagement.post("/api/v1/people", json=body)).status == 202
    received = await eventually(lambda: _async(mailbox.to(lucia)), lambda found: len(found) == 1)
    message = received[0]
    assert message["Subject"] == "Confirme que podemos contactarle"
    found = _link(message)
    assert found.group(1) == "http://civic.test"
    person = await person_with(pools["engagement"], lucia)
    stored = await pools["engagement"].fetchval(
        "SELECT token_hash FROM consent_confirmations WHERE person_id = $1", person["id"]
    )
    assert stored == token_hash(found.group(2))  # the link's token; only its hash is kept

    # Registering the address again writes no event, so nothing more can reach the address.
    before = await events_of(pools["engagement"], person["id"])
    assert (await engagement.post("/api/v1/people", json=body)).status == 202
    assert await events_of(pools["engagement"], person["id"]) == before
    sent = await pools["notifications"].fetch(
        "SELECT status, params FROM outgoing_mail WHERE person_id = $1", person["id"]
    )
    assert [(r["status"], r["params"]) for r in sent] == [("sent", {})]  # the token is not kept
    assert len(mailbox.to(lucia)) == 1


async def test_nothing_but_the_request_is_sent_until_the_person_confirms(
    engagement: TestClient,
    running: None,
    smtp: tuple[Mailbox, int],
    pools: dict[str, asyncpg.Pool],
    platform_settings: Settings,
) -> None:
    mailbox, _port = smtp
    rosa = address("rosa")
    body = {"display_name": "Rosa", "email": rosa, "consent_to_contact": True}
    assert (await engagement.post("/api/v1/people", json=body)).status == 202
    request = (await eventually(lambda: _async(mailbox.to(rosa)), lambda found: len(found) == 1))[0]
    link = _link(request)
    person_id = (await person_with(pools["engagement"], rosa))["id"]

    notifications = pools["notifications"]
    async with notifications.acquire() as conn:
        await mail.queue_notice(conn, person_id, "meetings", "Meeting on Tuesday", "Come along.")
    while await mail.send_batch(notifications, platform_settings):
        pass  # everything that may be sent now has been
    assert (
        await notifications.fetchval(
            "SELECT status FROM outgoing_mail WHERE person_id = $1 AND kind = 'notice'", person_id
        )
        == "pending"
    )
    assert [m["Subject"] for m in mailbox.to(rosa)] == ["Confirm that we may contact you"]

    page = await engagement.get(f"/confirm/{link.group(2)}")
    csrf = _csrf(await page.text())
    assert (await engagement.post(f"/confirm/{link.group(2)}", data={"csrf": csrf})).status == 200
    await eventually(lambda: _async(mailbox.to(rosa)), lambda found: len(found) == 2)
    assert mailbox.to(rosa)[1]["Subject"] == "Meeting on Tuesday"


async def test_confirming_takes_a_button_with_its_csrf_token_and_happens_once(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    registration, path = await asked_for_consent(pool)

    async def confirmed_at() -> object:
        return await pool.fetchval(
            "SELECT consent_confirmed_at FROM people WHERE id = $1", registration.person_id
        )

    # Opening the link (as a mail scanner does) changes nothing.
    for _ in range(2):
        page = await engagement.get(path)
        assert page.status == 200
        html = await page.text()
        assert '<form method="post"' in html and "<button" in html
        assert page.headers["Referrer-Policy"] == "no-referrer"
    assert await confirmed_at() is None
    spanish = await engagement.get(f"{path}?lang=es")
    assert "Sí, pueden contactarme" in await spanish.text()

    # A post from elsewhere has neither the page's cookie nor its token.
    engagement.session.cookie_jar.clear()
    forged = await engagement.post(path, data={"csrf": "guessed"})
    assert forged.status == 403
    assert await confirmed_at() is None

    csrf = _csrf(await (await engagement.get(path)).text())
    done = await engagement.post(path, data={"csrf": csrf}, allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == path
    assert await confirmed_at() is not None
    thanks = await engagement.get(path)
    assert thanks.status == 200 and "you agreed to be contacted" in await thanks.text()
    again = await engagement.post(path, data={"csrf": csrf})
    assert again.status == 200
    events = await events_of(pool, registration.person_id)
    assert [e["type"] for e in events].count("person.consent_confirmed") == 1
    # One aggregate, numbered in order, so a consumer can refuse a late, older event.
    assert {e["aggregate"] for e in events} == {f"person:{registration.person_id}"}
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))


async def test_an_expired_or_unknown_link_confirms_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    registration, path = await asked_for_consent(pool)
    csrf = _csrf(await (await engagement.get(path)).text())
    await pool.execute(
        "UPDATE consent_confirmations SET expires_at = now() - interval '1 second' WHERE person_id = $1",
        registration.person_id,
    )
    expired = await engagement.post(path, data={"csrf": csrf})
    assert expired.status == 410 and "expired" in await expired.text()
    assert (
        await pool.fetchval("SELECT consent_confirmed_at FROM people WHERE id = $1", registration.person_id)
        is None
    )
    unknown = await engagement.get(f"/confirm/{'x' * 43}")
    assert unknown.status == 404 and "not valid" in await unknown.text()


async def test_registrations_are_limited_per_client_address(
    settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus
) -> None:
    # A window of some thirty years: the count, aligned to the clock, never restarts mid-test.
    limited = settings.model_copy(update={"registrations_per_client": 3, "registration_window_s": 10**9})
    client = TestClient(TestServer(build_app(ENGAGEMENT, limited, pools["engagement"], bus)))
    await client.start_server()
    try:
        ours, theirs = f"198.51.100.{uuid.uuid4().int % 250}", f"2001:db8::{uuid.uuid4().hex[:4]}"

        async def register(client_address: str, body: object) -> Any:
            # What nginx sends: whatever the client claimed, then the address it saw.
            forwarded = f"203.0.113.9, {client_address}"
            return await client.post("/api/v1/people", json=body, headers={"X-Forwarded-For": forwarded})

        statuses = [
            (await register(ours, {"display_name": "Ana", "email": address()})).status,
            (await register(ours, {"display_name": ""})).status,  # invalid attempts count too
            (await register(ours, {"display_name": "Bea", "email": address()})).status,
        ]
        assert statuses == [202, 422, 202]
        refused = await register(ours, {"display_name": "Cai", "email": address("cai")})
        assert refused.status == 429
        assert refused.content_type == "application/problem+json"
        assert (await refused.json())["status"] == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= limited.registration_window_s
        assert (await register(theirs, {"display_name": "Dee", "email": address()})).status == 202
    finally:
        await client.close()


async def test_demo_people_are_loaded_with_their_consent_confirmed(fresh_engagement: asyncpg.Pool) -> None:
    pool = fresh_engagement  # counts every demo person: other tests load demo residents too
    async with pool.acquire() as conn:
        await demo.load(conn)
        assert await demo.load(conn) == 0
    rows = await pool.fetch("SELECT consent_to_contact, consent_confirmed_at FROM people WHERE is_demo")
    assert len(rows) == len(demo.DEMO_PEOPLE)
    assert all((r["consent_confirmed_at"] is not None) == r["consent_to_contact"] for r in rows)


def _link(message: EmailMessage) -> re.Match[str]:
    text = message.get_body(("plain",))
    assert text is not None
    found = _LINK.search(text.get_content())
    assert found is not None
    return found


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def _async(value: Any) -> Any:
    return value
