"""Demo data, labelled as such: people in the coalitions the platform is built for (an
urban-manufacturing alliance's Communities of Practice, a Bay Area manufacturing initiative, the
cities of an equity pilot), named by their role, with .invalid addresses and a 555 number: no real
person's. Idempotent: fixed ids, so loading twice registers (and announces) each person once.
Demo people who agree to be contacted are confirmed at once, through their link's token as a
person would."""

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from services.engagement.accounts.admins import admin_account, reset_demo_admin
from services.engagement.campaigns import store as campaigns_store
from services.engagement.campaigns.models import Audience, CampaignFields
from services.engagement.community import store as community
from services.engagement.community.changes import announce_name
from services.engagement.community.models import CopFields, OrganisationFields, OrganisationKind
from services.engagement.decisions import competition_demo
from services.engagement.decisions import demo as decisions_demo
from services.engagement.decisions.models import ConsultationKind
from services.engagement.meetings import changes as meeting_changes
from services.engagement.meetings import registering
from services.engagement.meetings.rules import DescriptionTexts, MeetingFields, RegistrationFields, TitleTexts
from services.engagement.people import PersonRegistration
from services.engagement.regions import demo_places
from services.engagement.regions import store as regions_store
from services.engagement.regions.importing import import_baselines, read_files
from services.engagement.regions.publishing import announcing
from services.engagement.registration import confirm_consent, register_person
from shared import demo_ids
from shared.db import DbConnection

_NAMESPACE = uuid.UUID("6f1c2d0e-5b8a-4c31-9a57-2f0c1e7d9b42")

# The real Census exports of the sixteen counties the demo coalitions work in (data/acs/README.md).
ACS_EXPORTS = sorted((Path(__file__).resolve().parents[2] / "data" / "acs").glob("ACS*.csv"))
# Regions drawn around them: (fixed id, kind, name, the counties inside).
DEMO_GROUPS = [
    (
        uuid.uuid5(_NAMESPACE, "region:bay-area"),
        "metro",
        "Demo: Bay Area (the initiative's nine counties)",
        [f"0500000US06{c}" for c in ("001", "013", "041", "055", "075", "081", "085", "095", "097")],
    ),
    (
        uuid.uuid5(_NAMESPACE, "region:new-york-city"),
        "city",
        "Demo: New York City (five boroughs)",
        [f"0500000US36{c}" for c in ("005", "047", "061", "081", "085")],
    ),
]

DEMO_PEOPLE = [
    PersonRegistration(
        display_name="Demo: Equity CoP lead (Urban Manufacturing Alliance)",
        email="equity-lead@demo.invalid",
        language="en",
        postal_code="10013",
        consent_to_contact=True,
    ),
    PersonRegistration(
        display_name="Demo: Land Use CoP member, Portland",
        email="land-use@demo.invalid",
        language="en",
        postal_code="97214",
        consent_to_contact=True,
    ),
    PersonRegistration(
        display_name="Demo: Residente de San José",
        email="residente.sj@demo.invalid",
        language="es",
        postal_code="95116",
        consent_to_contact=True,
    ),
    PersonRegistration(
        display_name="Demo: Workforce organizer, Oakland (Bay Area initiative)",
        phone="+1 510 555 0142",
        language="en",
        postal_code="94607",
        consent_to_contact=True,
    ),
    PersonRegistration(
        display_name="Demo: Indianapolis resident (no contact)",
        language="en",
        postal_code="46204",
        consent_to_contact=False,
    ),
]


async def load(conn: DbConnection) -> int:
    """Register the demo people who are not registered yet; returns how many were new."""
    new = 0
    for person in DEMO_PEOPLE:
        person_id = uuid.uuid5(_NAMESPACE, person.display_name)
        registration = await register_person(conn, person, person_id=person_id, is_demo=True)
        if registration.confirmation_token is not None:
            await confirm_consent(conn, registration.confirmation_token)
        new += registration.created
    return new


async def load_regions(conn: DbConnection) -> int:
    """Import the demo counties' baselines (again: the figures are replaced, not duplicated) and
    nest them in the demo's regions, then the cities inside them and their residents
    (regions/demo_places.py); returns how many counties were new."""
    imported = await import_baselines(conn, read_files(ACS_EXPORTS), is_demo=True)
    grouped = [county for *_, counties in DEMO_GROUPS for county in counties]
    async with conn.transaction():
        counties = await regions_store.ids_of(conn, grouped)
        async with announcing(conn, [*counties.values(), *(group[0] for group in DEMO_GROUPS)]):
            for region_id, kind, name, inside in DEMO_GROUPS:
                await regions_store.ensure_group(conn, region_id, kind, name, is_demo=True)
                await regions_store.nest(conn, region_id, inside)
    await demo_places.load(conn)
    return sum(done.created for done in imported)


DEMO_ADMIN_EMAIL = "admin@demo.invalid"


async def load_admin(conn: DbConnection, password: str) -> None:
    """The demo's admin, with the password of this run (make run writes it to .run/demo-admin.txt)."""
    await reset_demo_admin(conn, admin_account(DEMO_ADMIN_EMAIL, "Demo: admin", password))


# The Communities of Practice of an urban-manufacturing alliance, and organisations of its
# coalitions, with the CoPs each takes part in.
DEMO_COPS = {
    "Equity": "Who benefits from local manufacturing, and who is left out: hiring, ownership, wages.",
    "Land Use": "Keeping industrial land for making things: zoning, preservation, shared spaces.",
    "Local Branding": "Made-in-our-city labels and campaigns that sell local products.",
    "Workforce Development": "Training and apprenticeships that lead to manufacturing jobs.",
}
DEMO_ORGANISATIONS = [
    ("Demo: Urban manufacturing alliance", OrganisationKind.NONPROFIT, DEMO_GROUPS[1][0], list(DEMO_COPS)),
    ("Demo: Bay Area manufacturing initiative", OrganisationKind.NONPROFIT, DEMO_GROUPS[0][0], ["Land Use"]),
    ("Demo: City workforce board", OrganisationKind.GOVERNMENT, DEMO_GROUPS[0][0], ["Workforce Development"]),
    ("Demo: Community college", OrganisationKind.UNIVERSITY, None, ["Workforce Development", "Equity"]),
    ("Demo: Machinists' local", OrganisationKind.UNION, None, ["Workforce Development"]),
]


def organisation_id_of(name: str) -> uuid.UUID:
    """A demo organisation's fixed id, by its name in DEMO_ORGANISATIONS."""
    return uuid.uuid5(_NAMESPACE, f"organisation:{name}")


async def load_community(conn: DbConnection) -> int:
    """The alliance's four CoPs and the demo organisations, members of their CoPs; returns how
    many CoPs and organisations were new. An edit made since is kept (nothing is overwritten).
    Their home regions are the demo's: load_regions first."""
    new = 0
    cop_ids = {topic: uuid.uuid5(_NAMESPACE, f"cop:{topic}") for topic in DEMO_COPS}
    async with conn.transaction():
        for topic, description in DEMO_COPS.items():
            cop = CopFields(topic=topic, description=description)
            new += await community.insert_cop(conn, cop_ids[topic], cop, is_demo=True)
        for name, kind, region_id, topics in DEMO_ORGANISATIONS:
            organisation_id = organisation_id_of(name)
            organisation = OrganisationFields(name=name, kind=kind, region_id=region_id)
            if await community.insert_organisation(conn, organisation_id, organisation, is_demo=True):
                new += 1
                await announce_name(conn, organisation_id, name, None, None)
            for topic in topics:
                member_id = uuid.uuid5(_NAMESPACE, f"member:{name}:{topic}")
                await community.add_member(conn, member_id, cop_ids[topic], None, organisation_id)
    return new


# The Bay Area initiative's campaign, over the nine counties of its region (its residents are
# placed in them by the ZIP regions of their cities, regions/demo_places.py).
DEMO_CAMPAIGN_ID = uuid.uuid5(_NAMESPACE, "campaign:Manufacturing the Dream")


async def load_campaigns(conn: DbConnection) -> int:
    """The Bay Area initiative's draft "Manufacturing the Dream"; returns 1 when it was new. An
    edit or a launch made since is kept. Needs load, load_regions and load_community first."""
    async with conn.transaction():
        counties = DEMO_GROUPS[0][3]
        county_ids = [await regions_store.find_region(conn, county) for county in counties]
        initiative = organisation_id_of(DEMO_ORGANISATIONS[1][0])
        campaign = CampaignFields(
            organisation_id=initiative,
            title="Demo: Manufacturing the Dream",
            goal="Bring residents of every Bay Area county into the conversation about making things "
            "locally again: who the new manufacturing jobs are for, and where they go.",
            audience=Audience(region_ids=tuple(i for i in county_ids if i)),
        )
        return int(await campaigns_store.insert(conn, DEMO_CAMPAIGN_ID, campaign, is_demo=True))


# The Equity CoP's webinar on equity indicators, with registrations (the last ones waitlisted),
# rescheduled once; and the Land Use CoP's hearing, cancelled: so that notifications has an
# invitation, an update and a cancellation to send. Dated from the first load, in the weeks
# after it, so a fresh demo's meetings are to come.
DEMO_WEBINAR_ID = uuid.uuid5(_NAMESPACE, "meeting:equity-indicators")
DEMO_HEARING_ID = uuid.uuid5(_NAMESPACE, "meeting:land-use-hearing")


def _registrant(person: PersonRegistration) -> RegistrationFields:
    return RegistrationFields(
        display_name=person.display_name, email=person.email, phone=person.phone, language=person.language
    )


async def load_meetings(conn: DbConnection) -> int:
    """The two demo meetings; returns how many were new (an edit made since is kept). Needs
    load and load_community first (their people register; their CoPs host)."""
    today = datetime.now(ZoneInfo("America/New_York")).date()

    def at(days: int, hour: int) -> str:
        return f"{today + timedelta(days=days)}T{hour:02d}:00"

    webinar = MeetingFields(
        kind="webinar",
        cop_id=uuid.uuid5(_NAMESPACE, "cop:Equity"),
        title=TitleTexts(
            en="Demo: Equity indicators webinar", es="Demo: Seminario web sobre indicadores de equidad"
        ),
        description=DescriptionTexts(
            en="Which figures show who benefits from local manufacturing: hiring, wages, ownership.",
            es="Qué cifras muestran quién se beneficia de la manufactura local: empleo, salarios, propiedad.",
        ),
        time_zone="America/New_York",
        starts=at(21, 13),
        ends=at(21, 14),
        join_url="https://meet.demo.invalid/equity-indicators",
        capacity=2,
    )
    hearing = MeetingFields(
        kind="public_hearing",
        cop_id=uuid.uuid5(_NAMESPACE, "cop:Land Use"),
        title=TitleTexts(
            en="Demo: Industrial land hearing, Portland",
            es="Demo: Audiencia sobre suelo industrial, Portland",
        ),
        time_zone="America/Los_Angeles",
        starts=at(14, 18),
        ends=at(14, 20),
        venue="Demo: Central Eastside community hall, Portland",
        step_free_access=True,
    )
    new = 0
    async with conn.transaction():
        if await meeting_changes.schedule(conn, DEMO_WEBINAR_ID, webinar, None, None, is_demo=True):
            new += 1
            for person in DEMO_PEOPLE[:4]:
                await registering.register_in(conn, DEMO_WEBINAR_ID, _registrant(person), None)
            before = await meeting_changes.locked(conn, DEMO_WEBINAR_ID)
            assert before is not None  # scheduled a moment ago
            later = webinar.model_copy(update={"starts": at(28, 13), "ends": at(28, 14)})
            await meeting_changes.change(conn, before, later, None, None)
        if await meeting_changes.schedule(conn, DEMO_HEARING_ID, hearing, None, None, is_demo=True):
            new += 1
            # Registered first, so that its cancellation reaches someone's mailbox (and calendar).
            for person in DEMO_PEOPLE[1:3]:
                await registering.register_in(conn, DEMO_HEARING_ID, _registrant(person), None)
            before = await meeting_changes.locked(conn, DEMO_HEARING_ID)
            assert before is not None
            await meeting_changes.cancel(conn, before, None, None)
    return new


async def load_decisions(conn: DbConnection) -> int:
    """The Northside rezoning decision, proposed with its consultations linked (the Northside
    survey of surveys' demo by its fixed id, the Land Use CoP's hearing) and assessed, and the
    designation competition, decided (services/engagement/decisions/demo.py,
    competition_demo.py); how many were new. Needs load_regions, load_community and
    load_meetings first. ``finish_decisions`` records the rezoning once the survey's responses
    have come."""
    alliance = uuid.uuid5(_NAMESPACE, f"organisation:{DEMO_ORGANISATIONS[0][0]}")
    portland = demo_places.city_id("Portland")
    consultations = (
        (ConsultationKind.SURVEY, demo_ids.survey_id(demo_ids.NORTHSIDE_SURVEY_SLUG)),
        (ConsultationKind.MEETING, DEMO_HEARING_ID),
    )
    new = await decisions_demo.load(
        conn, decisions_demo.demo_id(_NAMESPACE), alliance, portland, consultations
    )
    competition = DEMO_COMPETITION_ID
    initiative = organisation_id_of(DEMO_ORGANISATIONS[1][0])
    return new + await competition_demo.load(conn, competition, initiative, DEMO_GROUPS[0][0])


DEMO_COMPETITION_ID = uuid.uuid5(_NAMESPACE, "decision:designation competition")


async def finish_decisions(conn: DbConnection) -> int:
    """Close the rezoning's consultations, counting what reached engagement, and record it; 1
    when done now."""
    return await decisions_demo.finish(conn, decisions_demo.demo_id(_NAMESPACE))
