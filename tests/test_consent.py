"""Consent per channel and purpose, recorded with its history, announced to notifications, whose
sender checks it when sending. Against the real PostgreSQL and RabbitMQ, mail over SMTP."""

import getpass
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from services.engagement.people import PersonRegistration
from services.engagement.people.changing import ConsentRefused, change_consent
from services.engagement.people.consent import ChangedBy, ConsentChange, Method, parse_consent
from services.engagement.registration import confirm_consent, register_person
from services.notifications import handlers, mail
from shared.contracts import Consent, ConsentChanged, Envelope
from shared.settings import Settings
from tests.support.waiting import eventually
from tests.test_people_registration import (  # noqa: F401 (fixtures)
    Mailbox,
    address,
    platform_settings,
    running,
    smtp,
)

OPERATOR = ChangedBy(kind="operator", id="maria")


async def confirmed_person(pool: asyncpg.Pool, **fields: Any) -> uuid.UUID:
    """Registered with consent to contact, and confirmed through their link."""
    person = PersonRegistration(display_name="Ana", consent_to_contact=True, **fields)
    async with pool.acquire() as conn:
        registration = await register_person(conn, person)
        assert registration.confirmation_token is not None
        await confirm_consent(conn, registration.confirmation_token)
    return registration.person_id


async def by_operator(pool: asyncpg.Pool, person_id: uuid.UUID, **sides: set[Consent]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await change_consent(conn, person_id, ConsentChange(method=Method.CLI, changed_by=OPERATOR, **sides))


async def history(pool: asyncpg.Pool, person_id: uuid.UUID) -> list[tuple[str, bool, str, str]]:
    rows = await pool.fetch(
        """SELECT channel || ':' || purpose AS consent, granted, method, changed_by
           FROM consent_changes WHERE person_id = $1 ORDER BY id""",
        person_id,
    )
    return [(r["consent"], r["granted"], r["method"], r["changed_by"]) for r in rows]


async def announced(pool: asyncpg.Pool, person_id: uuid.UUID) -> list[tuple[str, int, list[str]]]:
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE aggregate = $1 ORDER BY id", f"person:{person_id}"
    )
    return [
        (
            r["payload"]["type"],
            r["payload"]["sequence"],
            [f"{c['channel']}:{c['purpose']}" for c in r["payload"]["data"].get("consents", [])],
        )
        for r in rows
    ]


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CIVIC_DATABASE_URL": settings.database_url,
        "CIVIC_MIGRATION_DATABASE_URL": settings.migration_database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "services.engagement.people", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_confirming_grants_email_for_meetings_and_surveys_and_says_so(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["engagement"]
    person_id = await confirmed_person(pool, email=address(), phone="+15105550142")
    assert await history(pool, person_id) == [
        ("email:meetings", True, "confirmation_link", "person"),
        ("email:surveys", True, "confirmation_link", "person"),
    ]
    assert await announced(pool, person_id) == [
        ("person.registered", 1, []),
        ("person.consent_requested", 2, []),
        ("person.consent_confirmed", 3, []),
        ("person.consent_changed", 4, ["email:meetings", "email:surveys"]),
    ]


async def test_the_cli_grants_and_withdraws_recording_how_and_by_whom(
    pools: dict[str, asyncpg.Pool], settings: Settings
) -> None:
    pool = pools["engagement"]
    person_id = await confirmed_person(pool, email=address())
    done = cli(
        settings, "consent", str(person_id), "--grant", "email:campaign_news", "--withdraw", "email:surveys"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{person_id}: email:meetings, email:campaign_news"
    operator = f"operator:{getpass.getuser()}"
    assert (await history(pool, person_id))[2:] == [
        ("email:surveys", False, "cli", operator),
        ("email:campaign_news", True, "cli", operator),
    ]
    assert (await announced(pool, person_id))[-1] == (
        "person.consent_changed",
        5,
        ["email:meetings", "email:campaign_news"],
    )

    account = uuid.uuid4()
    done = cli(settings, "consent", str(person_id), "--withdraw", "email:meetings", "--by", str(account))
    assert done.returncode == 0, done.stderr
    assert (await history(pool, person_id))[-1] == ("email:meetings", False, "cli", f"account:{account}")
    # Granting what is given changes nothing and announces nothing.
    before = await announced(pool, person_id)
    assert cli(settings, "consent", str(person_id), "--grant", "email:campaign_news").returncode == 0
    assert await announced(pool, person_id) == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--grant", "fax:meetings"], 2, "'fax:meetings' is not CHANNEL:PURPOSE"),
        (["--grant", "sms:meetings"], 1, "has no address for sms:meetings; nothing changed"),
        ([], 2, "nothing to grant or withdraw"),
        (["--grant", "email:surveys", "--withdraw", "email:surveys"], 2, "both granted and withdrawn"),
    ],
)
async def test_the_cli_refuses_a_bad_change_and_writes_nothing(
    pools: dict[str, asyncpg.Pool], settings: Settings, args: list[str], code: int, message: str
) -> None:
    pool = pools["engagement"]
    person_id = await confirmed_person(pool, email=address())
    before = (await history(pool, person_id), await announced(pool, person_id))
    done = cli(settings, "consent", str(person_id), *args)
    assert (done.returncode, done.stdout) == (code, "")
    assert message in done.stderr
    assert (await history(pool, person_id), await announced(pool, person_id)) == before


async def test_consent_for_an_unknown_person_is_refused(
    pools: dict[str, asyncpg.Pool], settings: Settings
) -> None:
    unknown = uuid.uuid4()
    done = cli(settings, "consent", str(unknown), "--grant", "email:meetings")
    assert (done.returncode, done.stderr.strip()) == (
        1,
        f"error: person {unknown} is not known; nothing changed",
    )
    with pytest.raises(ConsentRefused, match="is not known"):
        await by_operator(pools["engagement"], unknown, grant={parse_consent("email:meetings")})


@pytest.mark.usefixtures("running")
async def test_a_withdrawal_stops_notices_of_that_purpose_at_once(
    smtp: tuple[Mailbox, int],  # noqa: F811 (the fixture)
    pools: dict[str, asyncpg.Pool],
    platform_settings: Settings,  # noqa: F811 (the fixture)
) -> None:
    mailbox, _port = smtp

    async def notices() -> list[str]:
        # The confirmation request may or may not have gone out: the link was used at once.
        return [m["Subject"] for m in mailbox.to(ana) if m["Subject"] != "Confirm that we may contact you"]

    ana = address()
    person_id = await confirmed_person(pools["engagement"], email=ana)
    notifications = pools["notifications"]

    async def consents() -> list[str] | None:
        found: list[str] | None = await notifications.fetchval(
            "SELECT consents FROM contact_points WHERE person_id = $1 AND consent_confirmed_at IS NOT NULL",
            person_id,
        )
        return found

    await eventually(consents, lambda found: found == ["email:meetings", "email:surveys"])
    async with notifications.acquire() as conn:
        await mail.queue_notice(conn, person_id, "surveys", "Survey open", "Tell us.")
        # Due tomorrow: still pending when the consent is withdrawn.
        await mail.queue_notice(conn, person_id, "surveys", "Survey reminder", "Last days.")
        await conn.execute(
            """UPDATE outgoing_mail SET next_attempt_at = now() + interval '1 day'
               WHERE person_id = $1 AND params->>'subject' = 'Survey reminder'""",
            person_id,
        )
    await eventually(notices, lambda found: found == ["Survey open"])

    await by_operator(pools["engagement"], person_id, withdraw={parse_consent("email:surveys")})
    await eventually(consents, lambda found: found == ["email:meetings"])
    # The pending reminder was withdrawn with the consent; a survey notice queued now is held
    # back by the sender itself, and a meeting notice still goes.
    async with notifications.acquire() as conn:
        await mail.queue_notice(conn, person_id, "surveys", "Another survey", "Tell us more.")
        await mail.queue_notice(conn, person_id, "meetings", "Meeting on Tuesday", "Come along.")
    await eventually(notices, lambda found: len(found) == 2)
    while await mail.send_batch(notifications, platform_settings):
        pass
    assert await notices() == ["Survey open", "Meeting on Tuesday"]
    states = await notifications.fetch(
        """SELECT purpose, status, count(*) AS mails FROM outgoing_mail
           WHERE person_id = $1 AND kind = 'notice' GROUP BY purpose, status""",
        person_id,
    )
    assert {(r["purpose"], r["status"]): r["mails"] for r in states} == {
        ("surveys", "sent"): 1,
        ("surveys", "cancelled"): 1,  # the reminder, withdrawn with the consent
        ("surveys", "pending"): 1,  # queued after: held back when sending
        ("meetings", "sent"): 1,
    }


async def test_an_older_consent_set_arriving_late_is_refused(pools: dict[str, asyncpg.Pool]) -> None:
    person_id = uuid.uuid4()

    def changed(sequence: int, *consents: str) -> tuple[ConsentChanged, Envelope]:
        event = ConsentChanged(
            person_id=person_id,
            consents=tuple(parse_consent(c) for c in consents),
            changed_at=datetime.now(UTC),
        )
        envelope = Envelope.wrap(
            event, producer="engagement", aggregate=f"person:{person_id}", sequence=sequence
        )
        return event, envelope

    withdrawn, granted_before = changed(6), changed(5, "email:meetings", "email:campaign_news")
    async with pools["notifications"].acquire() as conn, conn.transaction():
        for event, envelope in (withdrawn, granted_before):
            await handlers.on_consent_changed(event, conn, envelope)
        assert (
            await conn.fetchval("SELECT consents FROM contact_points WHERE person_id = $1", person_id) == []
        )
        newer = changed(7, "email:meetings")
        await handlers.on_consent_changed(newer[0], conn, newer[1])
        assert await conn.fetchval("SELECT consents FROM contact_points WHERE person_id = $1", person_id) == [
            "email:meetings"
        ]
