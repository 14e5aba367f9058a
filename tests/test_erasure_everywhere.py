"""After ``person.erased`` is handled by all three services, no column of any table in any
schema names the person or holds their name, e-mail or phone: the columns are read from
information_schema (every text, uuid, jsonb and array column), so a table added later is
scanned without editing this test. The person first gets a row in every table that names
people (tests/test_person_export.py's makers, which that test keeps complete). Against the
real PostgreSQL and RabbitMQ, every relay and subscription of the three services running."""

import uuid

import asyncpg
import pytest
from aiohttp import web

from deploy.stack import SERVICES
from services.engagement.people.erasing import Erasure, erase_person
from services.engagement.residents.export import everything_on
from shared.bus import Bus
from shared.consumer import Consumer
from shared.contracts import ApplicationDecided, AudienceMember, CampaignAudienceListed
from shared.outbox import OutboxRelay, emit
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.waiting import eventually
from tests.test_people_registration import Start, platform_settings, smtp  # noqa: F401 (fixtures)
from tests.test_person_export import SCHEMAS, Person, a_registered_person, rows_in_every_table
from tests.test_resident_page import others, resident_settings  # noqa: F401 (fixtures)

# What may still hold the person's id after their erasure, each with why; never their contact data.
TOMBSTONES = {
    "engagement.erased_people.person_id": "the id is never registered again, nothing more is emitted",
    "engagement.outbox.aggregate": "person.erased itself, for the other services",
    "engagement.outbox.payload": "person.erased itself, for the other services",
    "engagement.aggregate_sequences.aggregate": "the person's last sequence, which person.erased carries",
    "surveys.aggregate_sequences.aggregate": "its events' last sequence: a later one is ordered after",
    "notifications.aggregate_sequences.aggregate": "its events' last sequence: a later one is ordered after",
    "surveys.aggregate_positions.aggregate": "a late person.registered is refused",
    "notifications.aggregate_positions.aggregate": "a late consent or detail event is refused",
}
SCANNED_TYPES = ["text", "character varying", "uuid", "jsonb", "json", "ARRAY"]


async def columns_holding(pool: asyncpg.Pool, needles: list[str]) -> set[str]:
    """Every schema.table.column, in the three schemas, with a value holding one of ``needles``
    (case-insensitive; arrays and jsonb read as their text)."""
    columns = await pool.fetch(
        """SELECT c.table_schema, c.table_name, array_agg(c.column_name::text ORDER BY c.column_name) AS names
           FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
           WHERE t.table_type = 'BASE TABLE' AND c.table_schema = ANY ($1) AND c.data_type = ANY ($2)
           GROUP BY c.table_schema, c.table_name""",
        SCHEMAS,
        SCANNED_TYPES,
    )
    assert len(columns) > 40  # the scan reads the schemas, not nothing
    lowered = [n.lower() for n in needles]
    found = set()
    for table in columns:
        name = f'"{table["table_schema"]}"."{table["table_name"]}"'
        for column in table["names"]:
            if await pool.fetchval(
                f"""SELECT EXISTS (SELECT FROM {name} AS r, unnest($1::text[]) AS n
                                   WHERE strpos(lower(r."{column}"::text), n) > 0)""",
                lowered,
            ):
                found.add(f"{table['table_schema']}.{table['table_name']}.{column}")
    return found


async def events_naming(pool: asyncpg.Pool, person: Person) -> None:
    """engagement's events naming the person under another aggregate, as a campaign's launch
    lists its audience (alone in one part, beside someone in another) and a competition's
    outcome tells its applicants."""
    member, other = (
        AudienceMember(person_id=person.id, language="en"),
        AudienceMember(person_id=uuid.uuid4(), language="es"),
    )
    listings = [
        CampaignAudienceListed(
            campaign_id=uuid.uuid4(),
            organisation_id=uuid.uuid4(),
            survey_ids=(uuid.uuid4(),),
            part=1,
            parts=1,
            members=members,
        )
        for members in ((member,), (other, member))
    ]
    decided = ApplicationDecided(
        decision_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        title="Designation",
        community="Northside",
        designated=True,
        rank=1,
        places=1,
        applicants=1,
        contact_person_id=person.id,
        page_path=f"/decisions/{uuid.uuid4()}",
    )
    async with pool.acquire() as conn, conn.transaction():
        await emit(conn, listings, producer="engagement")
        await emit(conn, decided, producer="engagement", aggregate=f"decision:{decided.decision_id}")


@pytest.fixture
async def consuming(settings: Settings, bus: Bus, pools: dict[str, asyncpg.Pool], background: Start) -> None:
    """Each service's relay and every subscription of the three (their senders and schedulers do
    not run: nothing here is to be sent)."""
    for spec in SERVICES:
        await declare_topology(bus, spec.subscriptions)
    for spec in SERVICES:
        background(OutboxRelay(pools[spec.name], bus, spec.name, settings).run())
        for subscription in spec.subscriptions:
            background(Consumer(bus, pools[spec.name], subscription, settings).run())


@pytest.mark.usefixtures("consuming")
async def test_after_erasure_nothing_in_any_column_names_the_person(
    pools: dict[str, asyncpg.Pool],
    resident_settings: Settings,  # noqa: F811 (the fixture)
    others: dict[str, web.AppRunner],  # noqa: F811 (the fixture)
) -> None:
    engagement = pools["engagement"]
    person = await a_registered_person(pools)
    # Their registration reaches surveys and notifications first, as it would: a row made
    # before it arrives would refuse it.
    await eventually(
        lambda: pools["surveys"].fetchval("SELECT count(*) FROM respondents WHERE person_id = $1", person.id),
        lambda found: found == 1,
    )
    await eventually(
        lambda: pools["notifications"].fetchval(
            "SELECT count(*) FROM contact_points WHERE person_id = $1", person.id
        ),
        lambda found: found == 1,
    )
    await rows_in_every_table(pools, person)
    await events_naming(engagement, person)
    needles = [str(person.id), person.name, person.email, person.phone]
    before = await columns_holding(engagement, needles)
    # Every service holds them, in tables old and new.
    assert {
        "engagement.people.email",
        "engagement.meeting_registrations.person_id",
        "engagement.address_refusals.person_id",
        "surveys.invitations.person_id",
        "surveys.responses.person_id",
        "notifications.deliveries.address",
        "notifications.notice_registrations.email",
        "notifications.unsubscribes.person_id",
        "engagement.outbox.payload",
    } <= before

    async with engagement.acquire() as conn:
        assert await erase_person(conn, person.id) is Erasure.ERASED

    left = await eventually(
        lambda: columns_holding(engagement, needles), lambda found: found <= set(TOMBSTONES), timeout=60
    )
    assert left - set(TOMBSTONES) == set()
    # Of engagement's outbox, only person.erased names them (whatever the aggregate).
    naming = await engagement.fetch(
        "SELECT routing_key FROM outbox WHERE strpos(payload::text, $1) > 0 OR aggregate = $2",
        str(person.id),
        f"person:{person.id}",
    )
    assert [r["routing_key"] for r in naming] == ["person.erased"]
    # Nor is anything left that names them only through another row (a draft through its
    # invitation's link, a reminder through its registration): their download is empty.
    document = await everything_on(engagement, resident_settings, person.id)
    assert document["complete"]
    assert {
        f"{service}.{key}": held
        for service, part in document["services"].items()
        for key, held in part.items()
        if held
    } == {}
    # The tombstones hold the pseudonymous id only.
    contact = await columns_holding(engagement, [person.name, person.email, person.phone])
    assert contact == set()


async def test_every_tombstone_names_a_column_that_exists(pools: dict[str, asyncpg.Pool]) -> None:
    existing = {
        f"{r['table_schema']}.{r['table_name']}.{r['column_name']}"
        for r in await pools["engagement"].fetch(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = ANY ($1)",
            SCHEMAS,
        )
    }
    assert set(TOMBSTONES) <= existing
