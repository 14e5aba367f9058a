"""Surveys' event handlers: plain functions of (event, connection, envelope)."""

from shared.consumer import Subscription
from shared.contracts import Envelope, PersonRegistered
from shared.db import DbConnection


async def on_person_registered(event: PersonRegistered, conn: DbConnection, envelope: Envelope) -> None:
    # One statement, one round trip: the respondent and the tally it increments.
    await conn.execute(
        """WITH respondent AS (
               INSERT INTO respondents (person_id, language, postal_code, registered_at)
               VALUES ($1, $2, $3, $4)
               RETURNING coalesce(postal_code, 'unknown') AS postal_code, language)
           INSERT INTO respondent_tallies (postal_code, language, respondents)
           SELECT postal_code, language, 1 FROM respondent
           ON CONFLICT (postal_code, language)
           DO UPDATE SET respondents = respondent_tallies.respondents + 1""",
        event.person_id,
        event.language,
        event.postal_code,
        event.registered_at,
    )


PEOPLE = Subscription("surveys.people", {PersonRegistered: on_person_registered})
