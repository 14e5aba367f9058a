"""Surveys' event handlers: functions of (connection, events) that write rows, set-based."""

from collections.abc import Sequence

from shared.consumer import BatchHandler, Subscription
from shared.contracts import Envelope, PersonRegistered
from shared.db import DbConnection


async def on_people_registered(
    conn: DbConnection, events: Sequence[tuple[PersonRegistered, Envelope]]
) -> None:
    # One statement for the whole run: the respondents, and the tallies they increment. A person
    # twice in the run fails on the key, as the second of two statements would.
    people = [event for event, _ in events]
    await conn.execute(
        """WITH respondent AS (
               INSERT INTO respondents (person_id, language, postal_code, registered_at)
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
               RETURNING coalesce(postal_code, 'unknown') AS postal_code, language)
           INSERT INTO respondent_tallies (postal_code, language, respondents)
           SELECT postal_code, language, count(*) FROM respondent GROUP BY postal_code, language
           ON CONFLICT (postal_code, language)
           DO UPDATE SET respondents = respondent_tallies.respondents + excluded.respondents""",
        [p.person_id for p in people],
        [p.language for p in people],
        [p.postal_code for p in people],
        [p.registered_at for p in people],
    )


PEOPLE = Subscription("surveys.people", {PersonRegistered: BatchHandler(on_people_registered)})
