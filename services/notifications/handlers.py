"""Notifications' event handlers. The contact point's columns from registration, the consent
request and its confirmation are each filled by their own event, so those may arrive in any
order; the consent set is replaced only by a newer one (by the aggregate's sequence). Erasure
ends the person's aggregate: everything keyed by them goes, and any event about them arriving
later is refused, so a delayed one cannot bring their contact point back."""

from collections.abc import Sequence

from services.notifications import mail
from shared.consumer import BatchHandler, Subscription
from shared.contracts import (
    ConsentChanged,
    ConsentConfirmed,
    ConsentRequested,
    DetailsChanged,
    Envelope,
    PersonErased,
    PersonRegistered,
    SignInLinkRequested,
)
from shared.db import DbConnection
from shared.erasure import erase_from_outbox
from shared.ordering import ended, newer_than_applied

# Projections in aggregate_positions: the latest sequence of the consent set and of the name,
# phone and language, and erased people.
CONSENTS = "notifications.consents"
DETAILS = "notifications.details"
ERASED = "notifications.erased"


async def on_people_registered(
    conn: DbConnection, events: Sequence[tuple[PersonRegistered, Envelope]]
) -> None:
    # One statement for the whole run. A person twice in it makes PostgreSQL refuse to update a
    # row twice in one statement: the consumer then applies them one by one, in their order.
    await conn.execute(
        """INSERT INTO contact_points (person_id, language)
           SELECT person_id, language FROM unnest($1::uuid[], $2::text[], $3::text[])
                                        AS e (person_id, language, aggregate)
           WHERE NOT EXISTS (SELECT FROM aggregate_positions p
                             WHERE p.consumer = $4 AND p.aggregate = e.aggregate)
           ON CONFLICT (person_id) DO UPDATE SET
               language = excluded.language, updated_at = clock_timestamp()
           -- unless a later change of their details was applied first
           WHERE NOT EXISTS (SELECT FROM aggregate_positions p WHERE p.consumer = $5
                             AND p.aggregate = 'person:' || contact_points.person_id)""",
        [event.person_id for event, _ in events],
        [event.language for event, _ in events],
        [envelope.aggregate for _, envelope in events],
        ERASED,
        DETAILS,
    )


async def on_consent_requested(event: ConsentRequested, conn: DbConnection, envelope: Envelope) -> None:
    if await ended(conn, ERASED, envelope):
        return
    # The name, phone and language it carries are kept only if no later change was applied first.
    details_are_newest = await newer_than_applied(conn, DETAILS, envelope)
    confirmed = await conn.fetchval(
        """INSERT INTO contact_points (person_id, display_name, email, phone, language, consent_requested)
           VALUES ($1, $2, $3, $4, $5, true)
           ON CONFLICT (person_id) DO UPDATE SET
               display_name = CASE WHEN $6 THEN excluded.display_name ELSE contact_points.display_name END,
               phone = CASE WHEN $6 THEN excluded.phone ELSE contact_points.phone END,
               language = CASE WHEN $6 THEN excluded.language ELSE contact_points.language END,
               email = excluded.email, consent_requested = true, updated_at = clock_timestamp()
           RETURNING consent_confirmed_at IS NOT NULL""",
        event.person_id,
        event.display_name,
        event.email,
        event.phone,
        event.language,
        details_are_newest,
    )
    # A phone number alone waits: confirmation by SMS is not built yet, so nothing is sent.
    if event.email is not None and not confirmed:
        await mail.queue_consent_request(conn, event.person_id, event.confirmation_token, event.confirm_by)


async def on_consent_confirmed(event: ConsentConfirmed, conn: DbConnection, envelope: Envelope) -> None:
    if await ended(conn, ERASED, envelope):
        return
    await conn.execute(
        """INSERT INTO contact_points (person_id, consent_confirmed_at) VALUES ($1, $2)
           ON CONFLICT (person_id) DO UPDATE SET
               consent_confirmed_at = excluded.consent_confirmed_at, updated_at = clock_timestamp()""",
        event.person_id,
        event.confirmed_at,
    )
    await mail.cancel(conn, event.person_id, "consent_request")


async def on_consent_changed(event: ConsentChanged, conn: DbConnection, envelope: Envelope) -> None:
    if await ended(conn, ERASED, envelope) or not await newer_than_applied(conn, CONSENTS, envelope):
        return
    await conn.execute(
        """INSERT INTO contact_points (person_id, consents) VALUES ($1, $2)
           ON CONFLICT (person_id) DO UPDATE SET
               consents = excluded.consents, updated_at = clock_timestamp()""",
        event.person_id,
        [f"{c.channel}:{c.purpose}" for c in event.consents],
    )
    await mail.cancel_unconsented(conn, event.person_id, event.consents)


async def on_details_changed(event: DetailsChanged, conn: DbConnection, envelope: Envelope) -> None:
    if await ended(conn, ERASED, envelope) or not await newer_than_applied(conn, DETAILS, envelope):
        return
    await conn.execute(
        """INSERT INTO contact_points (person_id, display_name, phone, language) VALUES ($1, $2, $3, $4)
           ON CONFLICT (person_id) DO UPDATE SET
               display_name = CASE WHEN $5 THEN excluded.display_name ELSE contact_points.display_name END,
               phone = CASE WHEN $5 THEN excluded.phone ELSE contact_points.phone END,
               language = excluded.language, updated_at = clock_timestamp()""",
        event.person_id,
        event.display_name,
        event.phone,
        event.language,
        event.contact_data,
    )


async def on_sign_in_link_requested(
    event: SignInLinkRequested, conn: DbConnection, envelope: Envelope
) -> None:
    if not await ended(conn, ERASED, envelope):
        await mail.queue_sign_in_link(conn, event)


async def on_person_erased(event: PersonErased, conn: DbConnection, envelope: Envelope) -> None:
    """The contact point, every mail, the consent set's position and this service's own events
    about them (notification.failed, person.unsubscribed: published or not, they name them) go;
    the tombstone stays."""
    await newer_than_applied(conn, ERASED, envelope)
    await conn.execute("DELETE FROM contact_points WHERE person_id = $1", event.person_id)
    await mail.forget(conn, event.person_id)
    await erase_from_outbox(conn, f"person:{event.person_id}")
    await conn.execute(
        "DELETE FROM aggregate_positions WHERE consumer = ANY($1) AND aggregate = $2",
        [CONSENTS, DETAILS],
        envelope.aggregate,
    )


PEOPLE = Subscription(
    "notifications.people",
    {
        PersonRegistered: BatchHandler(on_people_registered),
        ConsentRequested: on_consent_requested,
        ConsentConfirmed: on_consent_confirmed,
        ConsentChanged: on_consent_changed,
        DetailsChanged: on_details_changed,
        PersonErased: on_person_erased,
        SignInLinkRequested: on_sign_in_link_requested,
    },
)
