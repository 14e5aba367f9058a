"""Demo data, labelled as such: people in the coalitions the platform is built for (an
urban-manufacturing alliance's Communities of Practice, a Bay Area manufacturing initiative, the
cities of an equity pilot), named by their role, with .invalid addresses and a 555 number: no real
person's. Idempotent: fixed ids, so loading twice registers (and announces) each person once.
Demo people who agree to be contacted are confirmed at once, through their link's token as a
person would."""

import uuid

from services.engagement.people import PersonRegistration
from services.engagement.registration import confirm_consent, register_person
from shared.db import DbConnection

_NAMESPACE = uuid.UUID("6f1c2d0e-5b8a-4c31-9a57-2f0c1e7d9b42")

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
