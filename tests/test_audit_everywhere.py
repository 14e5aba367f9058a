"""One audit log for the platform: an organizer's write in surveys (a console form) or in
notifications (retrying failed deliveries) reaches engagement's audit log through the services'
outboxes, the real relays, RabbitMQ and engagement's consumer (``engagement.audit``), naming the
account, its roles, the action, the target, the service and the request id; admins read it on
``/console/audit`` and ``GET /api/v1/audit``. A redelivered event makes one row; a write refused
(403, 409) or rolled back tells nothing. Surveys' migration 0007 copies the entries of its old
``audit_log`` into its outbox as ``organizer.acted`` envelopes, which parse back exactly and
reach the same log, then drops the table."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.engagement.accounts.audit import AUDIT
from services.surveys.app import SPEC as SURVEYS
from shared import audit
from shared.auth import ACCOUNT_HEADER, ROLES_HEADER
from shared.bus import Bus
from shared.consumer import Consumer
from shared.contracts import Envelope, OrganizerActed, parse_message
from shared.db import drop_database, ensure_database
from shared.migrations import discover, migrate
from shared.outbox import OutboxRelay
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.notices import a_meeting, apply, confirmed, deliveries_of, drain
from tests.support.surveys import surveys
from tests.support.waiting import eventually
from tests.test_accounts import csrf_of
from tests.test_deliveries import smtp
from tests.test_notice_campaigns import notifications
from tests.test_notices import notice_settings
from tests.test_organisations import ADMIN, as_
from tests.test_people_registration import Mailbox, address, engagement, platform_settings
from tests.test_survey_building import created, organizer

__all__ = ["engagement", "notice_settings", "notifications", "platform_settings", "smtp", "surveys"]

Start = Callable[[Awaitable[None]], Any]
MIGRATION = "0007_audit_to_engagement.sql"


def request_id() -> str:
    return f"audit-{uuid.uuid4().hex}"


async def listening(bus: Bus, pools: dict[str, asyncpg.Pool], settings: Settings, background: Start) -> None:
    """Surveys' and notifications' relays and engagement's audit consumer, as their roles run them."""
    await declare_topology(bus, [AUDIT])
    for service in ("surveys", "notifications"):
        background(OutboxRelay(pools[service], bus, service, settings).run())
    background(Consumer(bus, pools["engagement"], AUDIT, settings).run())


async def logged(engagement: TestClient, rid: str) -> list[dict[str, Any]]:
    """The entries of request ``rid`` in the audit log, as an admin reads them on the API."""
    answer = await engagement.get("/api/v1/audit", headers=ADMIN)
    assert answer.status == 200
    return [entry for entry in (await answer.json())["entries"] if entry["request_id"] == rid]


async def rows_of(pools: dict[str, asyncpg.Pool], rid: str) -> int:
    count: int = await pools["engagement"].fetchval(
        "SELECT count(*) FROM audit_log WHERE request_id = $1", rid
    )
    return count


async def told(pool: asyncpg.Pool, rid: str) -> list[Envelope]:
    """The organizer.acted events a service wrote to its outbox for request ``rid``."""
    rows = await pool.fetch(
        """SELECT payload FROM outbox
           WHERE routing_key = 'organizer.acted' AND payload->>'correlation_id' = $1""",
        rid,
    )
    return [Envelope.model_validate(row["payload"]) for row in rows]


async def one_entry(engagement: TestClient, rid: str, caller: dict[str, str]) -> dict[str, Any]:
    """The one entry of request ``rid``, once it arrives, naming the caller and its roles."""
    [entry] = await eventually(lambda: logged(engagement, rid), lambda entries: len(entries) == 1)
    assert entry["account_id"] == caller[ACCOUNT_HEADER]
    assert entry["roles"] == caller[ROLES_HEADER].split()
    return entry


async def nothing_told(bus: Bus, pools: dict[str, asyncpg.Pool], service: str, rids: list[str]) -> None:
    """No event in ``service``'s outbox and no entry in the log for these requests, once what
    was published before has been handled."""
    await settled(bus, pools)
    for rid in rids:
        assert await told(pools[service], rid) == []
        assert await rows_of(pools, rid) == 0


async def settled(bus: Bus, pools: dict[str, asyncpg.Pool]) -> None:
    """Once a sentinel event published now is in the log, whatever the consumer was given
    before it has been handled (one consumer, one queue, in order)."""
    sentinel = request_id()
    event = OrganizerActed(
        account_id=uuid.uuid4(),
        roles=("admin",),
        action="test.sentinel",
        target="test:sentinel",
        service="surveys",
        request_id=sentinel,
        acted_at=datetime.now(UTC),
    )
    envelope = Envelope.wrap(event, producer="surveys", correlation_id=sentinel)
    await bus.publish(envelope.type, envelope.model_dump_json().encode(), message_id=str(envelope.id))
    await eventually(lambda: rows_of(pools, sentinel), lambda n: n == 1)


async def test_a_surveys_console_write_reaches_the_audit_log_once_and_a_refused_one_not_at_all(
    surveys: TestClient,
    engagement: TestClient,
    pools: dict[str, asyncpg.Pool],
    bus: Bus,
    settings: Settings,
    background: Start,
) -> None:
    await listening(bus, pools, settings, background)
    organisation_id = uuid.uuid4()
    survey = await created(surveys, organisation_id)
    headers = organizer(organisation_id)
    page = f"/surveys/console/{survey['id']}"
    token = csrf_of(await (await surveys.get(page, headers=headers)).text())

    rid = request_id()
    opened = await surveys.post(
        f"{page}/open", data={"csrf": token}, headers={**headers, "X-Request-Id": rid}, allow_redirects=False
    )
    assert opened.status == 303
    entry = await one_entry(engagement, rid, headers)
    assert entry["roles"] == [f"organizer:{organisation_id}"]
    assert (entry["action"], entry["target"], entry["service"]) == (
        "survey.opened",
        f"survey:{survey['id']}",
        "surveys",
    )
    shown = await (await engagement.get("/console/audit", headers=ADMIN)).text()
    assert f"<code>survey:{survey['id']}</code></td>" in shown and "<td>surveys</td>" in shown
    spanish = await (await engagement.get("/console/audit?lang=es", headers=ADMIN)).text()
    assert '<th scope="col">Servicio</th>' in spanish

    # The event delivered again (a relay that died before marking it sent): still one row.
    [envelope] = await told(pools["surveys"], rid)
    assert envelope.producer == "surveys" and envelope.actor == f"account:{entry['account_id']}"
    await bus.publish(envelope.type, envelope.model_dump_json().encode(), message_id=str(envelope.id))
    await settled(bus, pools)
    assert await rows_of(pools, rid) == 1

    # Refused writes tell nothing: opening it again (409), and another organisation's organizer
    # changing its settings (403).
    again, foreign = request_id(), request_id()
    refused = await surveys.post(
        f"{page}/open", data={"csrf": token}, headers={**headers, "X-Request-Id": again}
    )
    assert refused.status == 409
    outsider = {**organizer(uuid.uuid4()), "X-Request-Id": foreign}
    forbidden = await surveys.patch(
        f"/api/v1/surveys/{survey['id']}", json={"suppression_threshold": 9}, headers=outsider
    )
    assert forbidden.status == 403
    await nothing_told(bus, pools, "surveys", [again, foreign])


async def test_a_retry_of_failed_deliveries_reaches_the_audit_log_and_one_rolled_back_not_at_all(
    notifications: TestClient,
    engagement: TestClient,
    pools: dict[str, asyncpg.Pool],
    bus: Bus,
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    background: Start,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await listening(bus, pools, notice_settings, background)
    pool = pools["notifications"]
    meeting = a_meeting()
    subject = f"meeting:{meeting.meeting_id}"
    await apply(pool, confirmed(meeting, address("refused")))  # the SMTP server answers 550
    await drain(pool, notice_settings)
    assert [r["state"] for r in await deliveries_of(pool, subject)] == ["failed"]
    retry = f"/api/v1/notifications/meetings/{meeting.meeting_id}/report/retry"
    host = as_(f"organizer:{meeting.organisation_id}")

    # The audit event cannot be written: the retry is rolled back with it.
    async def unwritable(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the outbox is unwritable")

    monkeypatch.setattr(audit, "emit", unwritable)
    broken = request_id()
    assert (await notifications.post(retry, headers={**host, "X-Request-Id": broken})).status == 500
    assert [r["state"] for r in await deliveries_of(pool, subject)] == ["failed"]
    monkeypatch.undo()

    # Another organisation's organizer may not retry: nothing told.
    foreign = request_id()
    outsider = {**as_(f"organizer:{uuid.uuid4()}"), "X-Request-Id": foreign}
    assert (await notifications.post(retry, headers=outsider)).status == 403

    rid = request_id()
    retried = await notifications.post(retry, headers={**host, "X-Request-Id": rid})
    assert await retried.json() == {"retried": 1}
    entry = await one_entry(engagement, rid, host)
    assert entry["roles"] == [f"organizer:{meeting.organisation_id}"]
    assert (entry["action"], entry["target"], entry["service"]) == (
        "deliveries.retried",
        subject,
        "notifications",
    )
    await nothing_told(bus, pools, "notifications", [broken, foreign])


async def test_the_migration_copies_surveys_old_audit_entries_to_engagements_log(
    run_settings: Settings,
    settings: Settings,
    pools: dict[str, asyncpg.Pool],
    bus: Bus,
    background: Start,
) -> None:
    """On a database of the test's own: surveys migrated to the level before 0007, entries
    written to its audit_log as the old code wrote them, then 0007 applied."""
    fresh = settings.with_database(f"{run_settings.migration_database_url.rsplit('/', 1)[1]}_audit")
    await ensure_database(fresh.migration_database_url)
    migrations = discover(SURVEYS.migrations)
    [at] = [n for n, m in enumerate(migrations) if m.name == MIGRATION]
    account_id, rid = uuid.uuid4(), request_id()
    written = [
        # (when, roles, action, target): a whole second, microseconds, another time zone
        ("2026-03-04 05:06:07+00", ["admin"], "survey.created", f"survey:{uuid.uuid4()}"),
        (
            "2026-03-04 05:06:07.12345+00",
            ["cop_lead:" + str(uuid.uuid4()), "organizer:" + str(uuid.uuid4())],
            "survey.version_added",
            f"survey:{uuid.uuid4()} version:2",
        ),
        ("2026-03-04 00:06:08.5-05", ["admin"], "survey.opened", f"survey:{uuid.uuid4()}"),
    ]
    conn = await asyncpg.connect(fresh.migration_database_url)
    try:
        await migrate(conn, "surveys", migrations[:at])
        for when, roles, action, target in written:
            await conn.execute(
                """INSERT INTO surveys.audit_log (at, account_id, roles, action, target, service, request_id)
                   VALUES ($1::text::timestamptz, $2, $3, $4, $5, 'surveys', $6)""",
                when,
                account_id,
                roles,
                action,
                target,
                rid,
            )
        expected = await conn.fetch("SELECT at, roles, action, target FROM surveys.audit_log ORDER BY id")
        assert await migrate(conn, "surveys", migrations) == [m.name for m in migrations[at:]]

        assert await conn.fetchval("SELECT to_regclass('surveys.audit_log')") is None
        assert not await conn.fetchval(
            """SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'surveys' AND p.proname = 'audit_log_is_append_only'"""
        )
        rows = await conn.fetch(
            "SELECT event_id, routing_key, payload::text AS body, aggregate FROM surveys.outbox ORDER BY id"
        )
        assert len(rows) == len(expected)
        for row, old in zip(rows, expected, strict=True):
            envelope, event = parse_message(row["body"].encode())
            # Exactly what Envelope serialises: parsed and written again, the same JSON.
            assert json.loads(row["body"]) == json.loads(envelope.model_dump_json())
            assert (envelope.id, row["routing_key"], row["aggregate"]) == (
                row["event_id"],
                "organizer.acted",
                None,
            )
            assert (envelope.producer, envelope.correlation_id, envelope.actor) == (
                "surveys",
                rid,
                f"account:{account_id}",
            )
            assert envelope.occurred_at == old["at"]
            assert event == OrganizerActed(
                account_id=account_id,
                roles=tuple(old["roles"]),
                action=old["action"],
                target=old["target"],
                service="surveys",
                request_id=rid,
                acted_at=old["at"],
            )
        # The whole second is written without microseconds, as pydantic writes it.
        assert json.loads(rows[0]["body"])["occurred_at"] == "2026-03-04T05:06:07Z"
        assert json.loads(rows[2]["body"])["data"]["acted_at"] == "2026-03-04T05:06:08.500000Z"

        # Through the real relay and engagement's consumer: the entries, at their own times.
        await declare_topology(bus, [AUDIT])
        background(Consumer(bus, pools["engagement"], AUDIT, settings).run())
        relay_pool = await asyncpg.create_pool(
            fresh.migration_database_url, min_size=1, max_size=2, server_settings={"search_path": "surveys"}
        )
        relay = background(OutboxRelay(relay_pool, bus, "surveys", fresh).run())
        try:
            await eventually(lambda: rows_of(pools, rid), lambda n: n == len(expected))
        finally:
            relay.cancel()  # before its database goes
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            await relay_pool.close()
        entries = await pools["engagement"].fetch(
            """SELECT at, account_id, roles, action, target, service FROM audit_log
               WHERE request_id = $1 ORDER BY at""",
            rid,
        )
        assert [dict(e) for e in entries] == [
            {**dict(old), "account_id": account_id, "service": "surveys"} for old in expected
        ]
    finally:
        await conn.close()
        await drop_database(fresh.migration_database_url)
