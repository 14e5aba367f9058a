"""Notifications' event handlers. Each event fills its own columns of the contact point, so
they may arrive in any order; the consent request also queues its mail (sent by mail.py)."""

from collections.abc import Sequence

from services.notifications import mail
from shared.consumer import BatchHandler, Subscription
from shared.contracts import ConsentConfirmed, ConsentRequested, Envelope, PersonRegistered
from shared.db import DbConnection


async def on_people_registered(
    conn: DbConnection, events: Sequence[tuple[PersonRegistered, Envelope]]
) -> None:
    # One statement for the whole run. A person twice in it makes PostgreSQL refuse to update a
    # row twice in one statement: the consumer then applies them one by one, in their order.
    await conn.execute(
        """INSERT INTO contact_points (person_id, language)
           SELECT * FROM unnest($1::uuid[], $2::text[])
           ON CONFLICT (person_id) DO UPDATE SET
               language = excluded.language, updated_at = clock_timestamp()""",
        [event.person_id for event, _ in events],
        [event.language for event, _ in events],
    )


async def on_consent_requested(event: ConsentRequested, conn: DbConnection, envelope: Envelope) -> None:
    confirmed = await conn.fetchval(
        """INSERT INTO contact_points (person_id, display_name, email, phone, language, consent_requested)
           VALUES ($1, $2, $3, $4, $5, true)
           ON CONFLICT (person_id) DO UPDATE SET
               display_name = excluded.display_name, email = excluded.email, phone = excluded.phone,
               language = excluded.language, consent_requested = true, updated_at = clock_timestamp()
           RETURNING consent_confirmed_at IS NOT NULL""",
        event.person_id,
        event.display_name,
        event.email,
        event.phone,
        event.language,
    )
    # A phone number alone waits: confirmation by SMS is not built yet, so nothing is sent.
    if event.email is not None and not confirmed:
        await mail.queue(
            conn,
            event.person_id,
            "consent_request",
            {"token": event.confirmation_token, "confirm_by": event.confirm_by.isoformat()},
        )


async def on_consent_confirmed(event: ConsentConfirmed, conn: DbConnection, envelope: Envelope) -> None:
    await conn.execute(
        """INSERT INTO contact_points (person_id, consent_confirmed_at) VALUES ($1, $2)
           ON CONFLICT (person_id) DO UPDATE SET
               consent_confirmed_at = excluded.consent_confirmed_at, updated_at = clock_timestamp()""",
        event.person_id,
        event.confirmed_at,
    )
    await mail.cancel(conn, event.person_id, "consent_request")


PEOPLE = Subscription(
    "notifications.people",
    {
        PersonRegistered: BatchHandler(on_people_registered),
        ConsentRequested: on_consent_requested,
        ConsentConfirmed: on_consent_confirmed,
    },
)
