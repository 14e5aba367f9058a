"""The download on a resident's page holds every row that names them, in every service: the
tables are found in information_schema (a column ``person_id``, ``respondent_id`` or ``<role>_person_id``,
or a foreign key to engagement's people), a row is made in each for one person, and the download
must show it. A table added later that names people fails here until it is exported (and given
a maker below) or put in NOT_EXPORTED with its reason."""

import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import web

from services.engagement.meetings import registering
from services.engagement.meetings.rules import RegistrationFields
from services.engagement.people import PersonRegistration, refusals
from services.engagement.people.consent import parse_consent
from services.engagement.registration import register_person
from services.engagement.residents.export import everything_on
from services.notifications.contacts import store as contacts
from services.notifications.contacts.unsubscribe_links import LinkFor
from services.notifications.deliveries import sender
from shared.contracts import Envelope, NotificationFailed, ResponseSubmitted
from shared.outbox import emit
from shared.settings import Settings
from tests.support.surveys import branching_document
from tests.test_consent import by_operator
from tests.test_people_registration import address, platform_settings, smtp  # noqa: F401 (fixtures)
from tests.test_resident_page import others, resident_settings  # noqa: F401 (fixtures)

SCHEMAS = ["engagement", "surveys", "notifications"]
Pools = dict[str, asyncpg.Pool]

# Tables naming a person that the download leaves out, each with why.
NOT_EXPORTED = {
    "engagement.erased_people": "the tombstone of an erased person: nobody is left to download it",
}


async def tables_naming_a_person(pool: asyncpg.Pool) -> set[str]:
    rows = await pool.fetch(
        r"""SELECT c.table_schema || '.' || c.table_name AS name
            FROM information_schema.columns c
            JOIN information_schema.tables t USING (table_schema, table_name)
            WHERE t.table_type = 'BASE TABLE' AND c.table_schema = ANY ($1)
              AND c.column_name ~ '^(.+_)?(person|respondent)_id$'
            UNION
            SELECT n.nspname || '.' || r.relname
            FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE k.contype = 'f' AND k.confrelid = 'engagement.people'::regclass
            UNION SELECT 'engagement.people'""",
        SCHEMAS,
    )
    return {r["name"] for r in rows}


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    name: str
    email: str
    phone: str


Make = Callable[[Pools, Person, str], Awaitable[None]]


@dataclass(frozen=True)
class Exported:
    """How to make a row naming the person (holding ``marker`` where the download shows it,
    when ``marked``), and the list or object of their service's part that holds it."""

    make: Make
    key: str
    marked: bool = True


async def _person(pools: Pools, person: Person, marker: str) -> None:
    """Made by registering (the id is given): people, and the confirmation asked for."""


async def _consent_change(pools: Pools, person: Person, marker: str) -> None:
    await by_operator(pools["engagement"], person.id, grant={parse_consent("sms:meetings")})


async def _cop_member(pools: Pools, person: Person, marker: str) -> None:
    cop_id = uuid.uuid4()
    await pools["engagement"].execute("INSERT INTO cops (id, topic) VALUES ($1, $2)", cop_id, marker)
    await pools["engagement"].execute(
        "INSERT INTO cop_members (id, cop_id, person_id) VALUES ($1, $2, $3)", uuid.uuid4(), cop_id, person.id
    )


async def _resident_link(pools: Pools, person: Person, marker: str) -> None:
    await pools["engagement"].execute(
        "INSERT INTO resident_links VALUES ($1, $2, now() + interval '5 minutes')",
        secrets.token_bytes(32),
        person.id,
    )


async def _resident_session(pools: Pools, person: Person, marker: str) -> None:
    await pools["engagement"].execute(
        """INSERT INTO resident_sessions (session_hash, person_id, expires_at)
           VALUES ($1, $2, now() + interval '1 hour')""",
        secrets.token_bytes(32),
        person.id,
    )


async def an_organisation(pool: asyncpg.Pool) -> uuid.UUID:
    organisation_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO organisations (id, name, kind) VALUES ($1, $2, 'nonprofit')",
        organisation_id,
        f"Export {organisation_id}",
    )
    return organisation_id


async def _meeting_registration(pools: Pools, person: Person, marker: str) -> None:
    """Registered as the meeting's page registers (registration.confirmed emitted), by their address."""
    pool, meeting_id = pools["engagement"], uuid.uuid4()
    await pool.execute(
        """INSERT INTO meetings (id, kind, organisation_id, title, time_zone, starts_at, ends_at)
           VALUES ($1, 'webinar', $2, $3, 'UTC', $4::timestamptz, $4::timestamptz + interval '1 hour')""",
        meeting_id,
        await an_organisation(pool),
        {"en": marker},
        datetime.now(UTC) + timedelta(days=30),
    )
    fields = RegistrationFields(display_name=person.name, email=person.email)
    accepted = await registering.register(pool, meeting_id, fields, None)
    assert accepted.status == "confirmed"


async def _competition_application(pools: Pools, person: Person, marker: str) -> None:
    pool, decision_id, region_id = pools["engagement"], uuid.uuid4(), uuid.uuid4()
    await pool.execute("INSERT INTO regions (id, kind, name) VALUES ($1, 'city', 'Export city')", region_id)
    await pool.execute(
        """INSERT INTO decisions (id, organisation_id, region_id, title, body, method)
           VALUES ($1, $2, $3, 'Designation', 'review_panel', 'majority')""",
        decision_id,
        await an_organisation(pool),
        region_id,
    )
    await pool.execute("INSERT INTO competitions (decision_id, places) VALUES ($1, 1)", decision_id)
    await pool.execute(
        """INSERT INTO competition_applications (id, decision_id, community, lead, contact_person_id)
           VALUES ($1, $2, $3, 'A lead', $4)""",
        uuid.uuid4(),
        decision_id,
        marker,
        person.id,
    )


async def _respondent(pools: Pools, person: Person, marker: str) -> None:
    await pools["surveys"].execute(
        """INSERT INTO respondents (person_id, language, postal_code, registered_at)
           VALUES ($1, 'en', $2, now()) ON CONFLICT (person_id) DO UPDATE SET postal_code = $2""",
        person.id,
        marker,
    )


async def a_survey_of(pool: asyncpg.Pool | asyncpg.Connection, mode: str) -> tuple[uuid.UUID, str]:
    survey_id, slug = uuid.uuid4(), f"export-{secrets.token_hex(6)}"
    await pool.execute(
        "INSERT INTO surveys (id, organisation_id, slug, mode, access) VALUES ($1, $2, $3, $4, 'invited')",
        survey_id,
        uuid.uuid4(),
        slug,
        mode,
    )
    await pool.execute(  # a whole document, as building stores it: the console lists this survey too
        "INSERT INTO survey_versions (survey_id, version, document) VALUES ($1, 1, $2::text::jsonb)",
        survey_id,
        json.dumps(branching_document()),
    )
    return survey_id, slug


async def _invitation_and_draft(pools: Pools, person: Person, marker: str) -> None:
    pool = pools["surveys"]
    survey_id, _ = await a_survey_of(pool, "confidential")
    token_hash = secrets.token_bytes(32)
    await pool.execute(
        "INSERT INTO invitations (survey_id, person_id, token_hash, language) VALUES ($1, $2, $3, 'en')",
        survey_id,
        person.id,
        token_hash,
    )
    await pool.execute(
        """INSERT INTO drafts (key, survey_id, version, token_hash, answers, language)
           VALUES ($1, $2, 1, $3, $4, 'en')""",
        uuid.uuid4(),
        survey_id,
        token_hash,
        {"q1": marker},
    )


async def _response(pools: Pools, person: Person, marker: str) -> None:
    """An identified survey's invited response, and its response.submitted as the submission
    emits it (no aggregate; the respondent's id in its data)."""
    async with pools["surveys"].acquire() as conn, conn.transaction():
        survey_id, _ = await a_survey_of(conn, "identified")
        response_id = await conn.fetchval(
            """INSERT INTO responses (survey_id, version, answers, person_id, submitted_at)
               VALUES ($1, 1, $2, $3, now()) RETURNING id""",
            survey_id,
            {"q1": marker},
            person.id,
        )
        submitted = ResponseSubmitted(
            response_id=response_id,
            survey_id=survey_id,
            organisation_id=uuid.uuid4(),
            survey_version=1,
            mode="identified",
            respondent_id=person.id,
        )
        await emit(conn, submitted, producer="surveys")


async def _contact_point(pools: Pools, person: Person, marker: str) -> None:
    await pools["notifications"].execute(
        """INSERT INTO contact_points (person_id, display_name, language)
           VALUES ($1, $2, 'en') ON CONFLICT (person_id) DO UPDATE SET display_name = $2""",
        person.id,
        marker,
    )


async def _outgoing_mail(pools: Pools, person: Person, marker: str) -> None:
    await pools["notifications"].execute(
        """INSERT INTO outgoing_mail (person_id, kind, purpose, status, last_error)
           VALUES ($1, 'notice', 'meetings', 'failed', $2)""",
        person.id,
        marker,
    )


async def _delivery(pools: Pools, person: Person, marker: str) -> None:
    """A delivery failed, and its notification.failed emitted as the sender emits it."""
    async with pools["notifications"].acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """INSERT INTO deliveries (notice, person_id, channel, subject, kind, purpose, transactional,
                                       address, state, reason, finished_at)
               VALUES ($1, $2, 'email', $3, 'campaign', 'campaign_news', false, $4, 'failed',
                       '550 no such mailbox', now())
               RETURNING *""",
            uuid.uuid4(),
            person.id,
            marker,
            person.email,
        )
        assert row is not None
        await sender.publish_failure(conn, row, row["reason"])


async def _notice_registration_and_reminder(pools: Pools, person: Person, marker: str) -> None:
    pool, registration_id, meeting_id = pools["notifications"], uuid.uuid4(), uuid.uuid4()
    await pool.execute(
        """INSERT INTO notice_registrations
               (registration_id, meeting_id, person_id, language, display_name, email, status, position)
           VALUES ($1, $2, $3, 'en', $4, $5, 'confirmed', 1)""",
        registration_id,
        meeting_id,
        person.id,
        marker,
        person.email,
    )
    await pool.execute(
        """INSERT INTO reminders (registration_id, offset_name, meeting_id, starts_at, due_at, state)
           VALUES ($1, '24h', $2, now() + interval '30 days', now() + interval '29 days', 'cancelled')""",
        registration_id,
        meeting_id,
    )


async def _survey_participant(pools: Pools, person: Person, marker: str) -> None:
    await pools["notifications"].execute(
        "INSERT INTO survey_participants (survey_id, person_id) VALUES ($1, $2)", uuid.uuid4(), person.id
    )


async def _unsubscribe(pools: Pools, person: Person, marker: str) -> None:
    """As the one-click link does it (person.unsubscribed emitted)."""
    async with pools["notifications"].acquire() as conn, conn.transaction():
        assert await contacts.unsubscribe(conn, LinkFor(person.id, "email", "campaign_news"), "one_click")


async def _address_refusal(pools: Pools, person: Person, marker: str) -> None:
    """As engagement's consumer applies notifications' notification.failed (a 550 quoting them)."""
    event = NotificationFailed(
        delivery_id=1,
        person_id=person.id,
        subject=f"campaign:{uuid.uuid4()}",
        kind="campaign",
        channel="email",
        reason=f"550 5.1.1 <{marker}>: no such mailbox",
        failed_at=datetime.now(UTC),
    )
    envelope = Envelope.wrap(event, producer="notifications", aggregate=f"person:{person.id}")
    async with pools["engagement"].acquire() as conn, conn.transaction():
        await refusals.on_notification_failed(event, conn, envelope)


# By table, how to make a row and where the download holds it. Reminders and drafts name the
# person through a registration and an invitation: listed by hand, as no column finds them.
EXPORTED = {
    "engagement.people": Exported(_person, "person", marked=False),
    "engagement.consent_confirmations": Exported(_person, "consent_confirmations", marked=False),
    "engagement.consent_changes": Exported(_consent_change, "consent_history", marked=False),
    "engagement.cop_members": Exported(_cop_member, "cop_memberships"),
    "engagement.resident_links": Exported(_resident_link, "sign_in_links", marked=False),
    "engagement.resident_sessions": Exported(_resident_session, "sessions", marked=False),
    "engagement.meeting_registrations": Exported(_meeting_registration, "meeting_registrations"),
    "engagement.competition_applications": Exported(_competition_application, "competition_applications"),
    "engagement.address_refusals": Exported(_address_refusal, "address_refusals"),
    "surveys.respondents": Exported(_respondent, "respondent"),
    "surveys.invitations": Exported(_invitation_and_draft, "invitations", marked=False),
    "surveys.drafts": Exported(_invitation_and_draft, "drafts"),
    "surveys.responses": Exported(_response, "responses"),
    "notifications.contact_points": Exported(_contact_point, "contact_point"),
    "notifications.outgoing_mail": Exported(_outgoing_mail, "outgoing_mail"),
    "notifications.deliveries": Exported(_delivery, "deliveries"),
    "notifications.notice_registrations": Exported(_notice_registration_and_reminder, "notice_registrations"),
    "notifications.reminders": Exported(
        _notice_registration_and_reminder, "notice_registrations", marked=False
    ),
    "notifications.survey_participants": Exported(_survey_participant, "survey_participants", marked=False),
    "notifications.unsubscribes": Exported(_unsubscribe, "unsubscribes", marked=False),
}


async def a_registered_person(pools: Pools) -> Person:
    name, email = f"Export Person {secrets.token_hex(4)}", address("exported")
    phone = "+1" + "".join(secrets.choice("0123456789") for _ in range(10))
    async with pools["engagement"].acquire() as conn:
        registration = await register_person(
            conn, PersonRegistration(display_name=name, email=email, phone=phone, consent_to_contact=True)
        )
    return Person(registration.person_id, name, email, phone)


async def rows_in_every_table(pools: Pools, person: Person) -> dict[str, str]:
    """A row naming ``person`` in every exported table; the marker each row holds, by table."""
    # One marker per maker: one maker may make the rows of two tables.
    made = {e.make: f"marker-{e.make.__name__}-{secrets.token_hex(4)}" for e in EXPORTED.values()}
    for make, marker in made.items():
        await make(pools, person, marker)
    return {table: made[exported.make] for table, exported in EXPORTED.items()}


async def test_every_table_naming_a_person_is_exported_or_excused(pools: Pools) -> None:
    found = await tables_naming_a_person(pools["engagement"])
    assert len(found) > 10  # the scan reads the schemas, not nothing
    assert not set(EXPORTED) & set(NOT_EXPORTED)
    assert found - set(EXPORTED) - set(NOT_EXPORTED) == set()


async def test_the_download_shows_a_row_of_every_table_naming_the_person(
    pools: Pools,
    resident_settings: Settings,  # noqa: F811 (the fixture)
    others: dict[str, web.AppRunner],  # noqa: F811 (the fixture)
) -> None:
    person = await a_registered_person(pools)
    markers = await rows_in_every_table(pools, person)
    document = await everything_on(pools["engagement"], resident_settings, person.id)
    assert (document["complete"], document["missing"]) == (True, [])
    for table, exported in EXPORTED.items():
        part = document["services"][table.split(".")[0]].get(exported.key)
        assert part, f"{table}: nothing in the download's {exported.key}"
        if exported.marked:
            assert markers[table] in json.dumps(part, default=str), f"{table}: its row is not downloaded"
    text = json.dumps(document, default=str)
    for secret in ("token_hash", "link_path", "session_hash", "params"):
        assert secret not in text
