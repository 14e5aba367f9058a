"""Surveys' event handlers: plain functions of (event, connection, envelope)."""

from shared.consumer import Subscription
from shared.contracts import Envelope, PersonRegistered
from shared.db import DbConnection


async def on_person_registered(event: PersonRegistered, conn: DbConnection, envelope: Envelope) -> None:
    await conn.execute(
        "INSERT INTO respondents (person_id, language, postal_code, registered_at) VALUES ($1, $2, $3, $4)",
        event.person_id,
        event.language,
        event.postal_code,
        event.registered_at,
    )
    await conn.execute(
        """INSERT INTO respondent_tallies (postal_code, language, respondents) VALUES ($1, $2, 1)
           ON CONFLICT (postal_code, language)
           DO UPDATE SET respondents = respondent_tallies.respondents + 1""",
        event.postal_code or "unknown",
        event.language,
    )


PEOPLE = Subscription("surveys.people", {PersonRegistered: on_person_registered})
