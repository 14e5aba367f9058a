"""Notifications' event handlers."""

from shared.consumer import Subscription
from shared.contracts import Envelope, PersonRegistered
from shared.db import DbConnection


async def on_person_registered(event: PersonRegistered, conn: DbConnection, envelope: Envelope) -> None:
    # A plain INSERT: a second effect for the same person would fail loudly, not pass unseen.
    await conn.execute(
        """INSERT INTO contact_points (person_id, display_name, email, phone, language, consent_to_contact)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        event.person_id,
        event.display_name,
        event.email,
        event.phone,
        event.language,
        event.consent_to_contact,
    )


PEOPLE = Subscription("notifications.people", {PersonRegistered: on_person_registered})
