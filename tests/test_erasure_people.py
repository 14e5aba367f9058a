"""Erasing a person across the three services: afterwards no table of any schema holds their
name, e-mail or phone, and an event about them arriving late brings nothing back. Against the
real PostgreSQL and RabbitMQ, with mail over SMTP."""

import os
import secrets
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.engagement.people import PersonRegistration
from services.engagement.people.changing import ConsentRefused
from services.engagement.people.consent import parse_consent
from services.engagement.registration import confirm_consent, register_person
from services.notifications import handlers as notifications
from services.notifications import mail
from services.surveys import handlers as surveys
from shared.bus import Bus
from shared.contracts import ConsentRequested, Envelope, PersonErased, PersonRegistered
from shared.parked import list_parked
from shared.settings import Settings
from tests.support.waiting import eventually
from tests.test_consent import by_operator, cli
from tests.test_people_registration import (  # noqa: F401 (fixtures)
    Mailbox,
    address,
    platform_settings,
    running,
    smtp,
)

SCHEMAS = ["engagement", "surveys", "notifications"]


async def holding(pool: asyncpg.Pool, needles: list[str]) -> set[str]:
    """Every table, in the three schemas, any of whose rows holds one of ``needles`` in any column
    (each row read whole as text: text, jsonb, arrays, whatever comes later)."""
    tables = await pool.fetch(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_schema = ANY ($1) AND table_type = 'BASE TABLE'""",
        SCHEMAS,
    )
    assert len(tables) > 20  # the scan reads the schemas, not nothing
    found = set()
    for t in tables:
        name = f'"{t["table_schema"]}"."{t["table_name"]}"'
        if await pool.fetchval(
            f"""SELECT EXISTS (SELECT FROM {name} AS r, unnest($1::text[]) AS n
                               WHERE strpos(lower(r::text), n) > 0)""",
            [n.lower() for n in needles],
        ):
            found.add(name.replace('"', ""))
    return found


@pytest.mark.usefixtures("running")
async def test_after_erasure_no_contact_data_remains_in_any_schema(
    pools: dict[str, asyncpg.Pool],
    smtp: tuple[Mailbox, int],  # noqa: F811 (the fixture)
    settings: Settings,
    bus: Bus,
) -> None:
    mailbox, _port = smtp
    name, email = f"Zelda Quintana {secrets.token_hex(4)}", address("zelda")
    phone = "+1" + "".join(secrets.choice("0123456789") for _ in range(10))
    needles = [name, email, phone]
    engagement, notified = pools["engagement"], pools["notifications"]
    async with engagement.acquire() as conn:
        registration = await register_person(
            conn,
            PersonRegistration(
                display_name=name, email=email, phone=phone, postal_code="94607", consent_to_contact=True
            ),
        )
        assert registration.confirmation_token is not None
        await confirm_consent(conn, registration.confirmation_token)
    person_id = registration.person_id
    await by_operator(engagement, person_id, grant={parse_consent("sms:meetings")})
    await eventually(
        lambda: notified.fetchval("SELECT consents FROM contact_points WHERE person_id = $1", person_id),
        lambda found: found == ["email:meetings", "email:surveys", "sms:meetings"],
    )
    async with notified.acquire() as conn:
        await mail.queue_notice(conn, person_id, "meetings", f"For {name}", f"Dear {name}")
        await mail.queue_notice(conn, person_id, "surveys", f"Later, {name}", "Soon.")
        await conn.execute(
            """UPDATE outgoing_mail SET next_attempt_at = now() + interval '1 day'
               WHERE params->>'body' = 'Soon.'"""
        )
    await eventually(
        lambda: surveys_tally(pools["surveys"]),
        lambda n: n >= 1,
    )
    tally_before = await surveys_tally(pools["surveys"])
    await eventually(lambda: _subjects(mailbox, email), lambda found: f"For {name}" in found)
    # A message about them that cannot be handled, parked with their contact data in it.
    await park_a_message_about(bus, person_id, name, email)
    await eventually(lambda: parked_holding(bus, email), lambda found: found == 1)
    # A request to join a CoP, as the public page keeps it: by name and address, not person id.
    cop_id = uuid.uuid4()
    await engagement.execute("INSERT INTO cops (id, topic) VALUES ($1, $2)", cop_id, f"Erasure {cop_id}")
    await engagement.execute(
        "INSERT INTO cop_join_requests (id, cop_id, name, email) VALUES ($1, $2, $3, $4)",
        uuid.uuid4(),
        cop_id,
        name,
        email,
    )
    assert {
        "engagement.people",
        "engagement.outbox",
        "engagement.cop_join_requests",
        "notifications.contact_points",
    } <= await holding(engagement, needles)

    done = cli(settings, "erase", str(person_id))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"{person_id}: erased"
    assert f"python -m deploy.parked erase person:{person_id}" in done.stdout
    await eventually(
        lambda: notified.fetchval(
            """SELECT (SELECT count(*) FROM contact_points WHERE person_id = $1)
                    + (SELECT count(*) FROM outgoing_mail WHERE person_id = $1)""",
            person_id,
        ),
        lambda left: left == 0,
    )
    await eventually(
        lambda: pools["surveys"].fetchval("SELECT count(*) FROM respondents WHERE person_id = $1", person_id),
        lambda left: left == 0,
    )
    assert await surveys_tally(pools["surveys"]) == tally_before - 1
    env = {**os.environ, "CIVIC_RABBITMQ_URL": settings.rabbitmq_url, "CIVIC_BUS_PREFIX": settings.bus_prefix}
    parked = subprocess.run(
        [sys.executable, "-m", "deploy.parked", "erase", f"person:{person_id}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert parked.returncode == 0, parked.stderr
    assert f"{bus.queue_names('notifications.people').dlq}: erased 1 message(s)" in parked.stdout

    assert await holding(engagement, needles) == set()
    assert await parked_holding(bus, email) == 0
    # Only the pseudonymous tombstone and the erasure's own event remain.
    assert (
        await engagement.fetchval("SELECT count(*) FROM erased_people WHERE person_id = $1", person_id) == 1
    )
    assert [
        r["routing_key"]
        for r in await engagement.fetch(
            "SELECT routing_key FROM outbox WHERE aggregate = $1", f"person:{person_id}"
        )
    ] == ["person.erased"]


async def test_erasing_again_or_an_unknown_person_and_what_an_erased_id_refuses(
    pools: dict[str, asyncpg.Pool], settings: Settings
) -> None:
    engagement = pools["engagement"]
    person = PersonRegistration(display_name="Bo", email=address("bo"))
    async with engagement.acquire() as conn:
        person_id = (await register_person(conn, person)).person_id
    assert cli(settings, "erase", str(person_id)).returncode == 0
    again = cli(settings, "erase", str(person_id))
    assert (again.returncode, again.stdout.splitlines()[0]) == (0, f"{person_id}: already erased")
    unknown = uuid.uuid4()
    done = cli(settings, "erase", str(unknown))
    assert (done.returncode, done.stderr.strip()) == (1, f"error: person {unknown} is not known")

    # The id is never registered again (demo data has fixed ids), and its consent cannot change.
    async with engagement.acquire() as conn:
        assert not (await register_person(conn, person, person_id=person_id)).created
    with pytest.raises(ConsentRefused, match="was erased"):
        await by_operator(engagement, person_id, grant={parse_consent("email:meetings")})
    assert await engagement.fetchval("SELECT count(*) FROM people WHERE id = $1", person_id) == 0
    # Their address is free for someone registering anew.
    async with engagement.acquire() as conn:
        assert (await register_person(conn, person)).created


async def test_events_arriving_after_the_erasure_bring_nothing_back(pools: dict[str, asyncpg.Pool]) -> None:
    person_id = uuid.uuid4()
    aggregate = f"person:{person_id}"
    now = datetime.now(UTC)
    registered = PersonRegistered(person_id=person_id, postal_code="99999", registered_at=now)
    requested = ConsentRequested(
        person_id=person_id,
        display_name="Late",
        email=address("late"),
        confirmation_token=secrets.token_urlsafe(32),
        confirm_by=now + timedelta(days=7),
    )
    erased = PersonErased(person_id=person_id, erased_at=now)

    def wrapped(event: PersonRegistered | ConsentRequested | PersonErased, sequence: int) -> Envelope:
        return Envelope.wrap(event, producer="engagement", aggregate=aggregate, sequence=sequence)

    async with pools["notifications"].acquire() as conn, conn.transaction():
        await notifications.on_person_erased(erased, conn, wrapped(erased, 5))
        await notifications.on_people_registered(conn, [(registered, wrapped(registered, 1))])
        await notifications.on_consent_requested(requested, conn, wrapped(requested, 2))
        assert await conn.fetchval("SELECT count(*) FROM contact_points WHERE person_id = $1", person_id) == 0
        assert await conn.fetchval("SELECT count(*) FROM outgoing_mail WHERE person_id = $1", person_id) == 0

    surveys_pool = pools["surveys"]
    async with surveys_pool.acquire() as conn, conn.transaction():
        await surveys.on_person_erased(erased, conn, wrapped(erased, 5))
        await surveys.on_people_registered(conn, [(registered, wrapped(registered, 1))])
        assert await conn.fetchval("SELECT count(*) FROM respondents WHERE person_id = $1", person_id) == 0
        assert await conn.fetchval("SELECT count(*) FROM respondent_tallies WHERE postal_code = '99999'") == 0


async def test_surveys_counts_one_less_and_empties_a_cell_of_one(pools: dict[str, asyncpg.Pool]) -> None:
    postal = f"9{secrets.randbelow(10**8):08d}"[:9]
    people = [uuid.uuid4(), uuid.uuid4()]
    now = datetime.now(UTC)
    async with pools["surveys"].acquire() as conn, conn.transaction():
        events = [PersonRegistered(person_id=p, postal_code=postal, registered_at=now) for p in people]
        await surveys.on_people_registered(
            conn,
            [
                (e, Envelope.wrap(e, producer="t", aggregate=f"person:{e.person_id}", sequence=1))
                for e in events
            ],
        )

        async def tally() -> int | None:
            return await conn.fetchval(
                "SELECT respondents FROM respondent_tallies WHERE postal_code = $1", postal
            )

        assert await tally() == 2
        for expected, person_id in zip((1, None), people, strict=True):
            event = PersonErased(person_id=person_id, erased_at=now)
            await surveys.on_person_erased(
                event, conn, Envelope.wrap(event, producer="t", aggregate=f"person:{person_id}", sequence=2)
            )
            assert await tally() == expected


async def surveys_tally(pool: asyncpg.Pool) -> int:
    found: int | None = await pool.fetchval(
        "SELECT respondents FROM respondent_tallies WHERE postal_code = '94607' AND language = 'en'"
    )
    return found or 0


async def park_a_message_about(bus: Bus, person_id: uuid.UUID, name: str, email: str) -> None:
    """A person.consent_requested whose link token is too short: parked at once, data and all."""
    envelope = Envelope(
        type="person.consent_requested",
        version=1,
        occurred_at=datetime.now(UTC),
        producer="engagement",
        aggregate=f"person:{person_id}",
        sequence=99,
        data={
            "person_id": str(person_id),
            "display_name": name,
            "email": email,
            "confirmation_token": "short",
            "confirm_by": datetime.now(UTC).isoformat(),
        },
    )
    await bus.publish(
        "person.consent_requested", envelope.model_dump_json().encode(), message_id=str(envelope.id)
    )


async def parked_holding(bus: Bus, needle: str) -> int:
    return sum(needle in m.body for m in await list_parked(bus, "notifications.people"))


async def _subjects(mailbox: Mailbox, to: str) -> list[str]:
    return [m["Subject"] for m in mailbox.to(to)]
