"""Surveys' event handlers: functions of (connection, events) that write rows, set-based.

Erasure: surveys keeps no contact data, only a pseudonymous respondent (id, language, postal
code, when registered) and the tally of those who can be invited. An erased person can never be
invited, so their respondent row goes and the tally they were counted in is decremented (a cell
emptied goes too): the tally is the pool of people who may be invited, not a record of the past,
and a count of one in a postal code is nearly a person. Their id stays as a tombstone in
aggregate_positions so a ``person.registered`` arriving after the erasure is refused."""

from collections.abc import Sequence

from services.surveys.invitations import handlers as invitations
from shared.consumer import BatchHandler, Subscription
from shared.contracts import Envelope, PersonErased, PersonRegistered
from shared.db import DbConnection
from shared.ordering import newer_than_applied

ERASED = "surveys.erased"


async def on_people_registered(
    conn: DbConnection, events: Sequence[tuple[PersonRegistered, Envelope]]
) -> None:
    # One statement for the whole run: the respondents, and the tallies they increment. A person
    # twice in the run fails on the key, as the second of two statements would.
    people = [event for event, _ in events]
    await conn.execute(
        """WITH respondent AS (
               INSERT INTO respondents (person_id, language, postal_code, registered_at)
               SELECT person_id, language, postal_code, registered_at
               FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
                    AS e (person_id, language, postal_code, registered_at, aggregate)
               WHERE NOT EXISTS (SELECT FROM aggregate_positions p
                                 WHERE p.consumer = $6 AND p.aggregate = e.aggregate)
               RETURNING coalesce(postal_code, 'unknown') AS postal_code, language)
           INSERT INTO respondent_tallies (postal_code, language, respondents)
           SELECT postal_code, language, count(*) FROM respondent GROUP BY postal_code, language
           ON CONFLICT (postal_code, language)
           DO UPDATE SET respondents = respondent_tallies.respondents + excluded.respondents""",
        [p.person_id for p in people],
        [p.language for p in people],
        [p.postal_code for p in people],
        [p.registered_at for p in people],
        [envelope.aggregate for _, envelope in events],
        ERASED,
    )


async def on_person_erased(event: PersonErased, conn: DbConnection, envelope: Envelope) -> None:
    await newer_than_applied(conn, ERASED, envelope)
    await invitations.erase(conn, event.person_id)
    cell = await conn.fetchrow(
        """DELETE FROM respondents WHERE person_id = $1
           RETURNING coalesce(postal_code, 'unknown') AS postal_code, language""",
        event.person_id,
    )
    if cell is None:  # erased before their registration arrived (refused by the tombstone)
        return
    # A cell of one is deleted, any other counts one less (two statements: one statement
    # cannot both update and delete a row).
    emptied = await conn.execute(
        "DELETE FROM respondent_tallies WHERE postal_code = $1 AND language = $2 AND respondents = 1",
        cell["postal_code"],
        cell["language"],
    )
    if emptied == "DELETE 0":
        await conn.execute(
            """UPDATE respondent_tallies SET respondents = respondents - 1
               WHERE postal_code = $1 AND language = $2""",
            cell["postal_code"],
            cell["language"],
        )


PEOPLE = Subscription(
    "surveys.people",
    {PersonRegistered: BatchHandler(on_people_registered), PersonErased: on_person_erased},
)
