"""Registering a person and confirming their consent to be contacted (double opt-in).

A registration answers the same whether its e-mail address is new or already registered: a
known address changes nothing and sends nothing, so neither the answer nor the mailbox tells
anyone else who is registered, and registering an address again cannot flood it with requests.
Consent given at registration is only asked for: notifications sends the address a link, and
nothing else, until the person confirms through it.
"""

import enum
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

import asyncpg

from services.engagement import store
from services.engagement.people import PersonRegistration
from services.engagement.people.changing import grant_on_confirmation
from shared.contracts import ConsentConfirmed, ConsentRequested, Event, PersonRegistered
from shared.db import DbConnection
from shared.outbox import Emission, emit, emit_many

PRODUCER = "engagement"
# Long enough for someone who reads mail weekly; a lost link then costs a week, not forever.
CONFIRMATION_VALID_FOR = timedelta(days=7)


@dataclass(frozen=True)
class Registration:
    person_id: UUID
    created: bool
    # The secret of the confirmation link, when consent was asked for (demo data confirms with it).
    confirmation_token: str | None = None


class Confirmation(enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


def token_hash(token: str) -> bytes:
    """Tokens are 256 random bits: a plain SHA-256 is enough (no dictionary to guess from)."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class RegistrationRequest:
    person: PersonRegistration
    person_id: UUID = field(default_factory=uuid.uuid4)
    correlation_id: str | None = None


async def register_person(
    conn: DbConnection,
    person: PersonRegistration,
    *,
    person_id: UUID | None = None,
    correlation_id: str | None = None,
    is_demo: bool = False,
) -> Registration:
    """One registration in a transaction of its own (see ``register_people``)."""
    request = RegistrationRequest(person, person_id or uuid.uuid4(), correlation_id)
    async with conn.transaction():
        [registration] = await register_people(conn, [request], is_demo=is_demo)
    return registration


async def register_people(
    conn: DbConnection, requests: Sequence[RegistrationRequest], *, is_demo: bool = False
) -> list[Registration]:
    """Each new person, their ``person.registered`` and, if consent was asked for, a
    confirmation and ``person.consent_requested``, in the caller's transaction, set-based (one
    statement per table for all of them: the web role commits registrations in groups). An id
    or address already registered, or registered earlier in ``requests``, writes nothing."""
    registered = await store.insert_people(conn, [(r.person_id, r.person) for r in requests], is_demo=is_demo)
    registrations, confirmations, emissions = [], [], []
    for r in requests:
        registered_at = registered.get(r.person_id)
        if registered_at is None:
            registrations.append(Registration(r.person_id, created=False))
            continue
        events: list[Event] = [
            PersonRegistered(
                person_id=r.person_id,
                language=r.person.language,
                postal_code=r.person.postal_code,
                registered_at=registered_at,
            )
        ]
        token = None
        if r.person.consent_to_contact:
            token = secrets.token_urlsafe(32)
            confirm_by = registered_at + CONFIRMATION_VALID_FOR
            confirmations.append((token_hash(token), r.person_id, confirm_by))
            events.append(
                ConsentRequested(
                    person_id=r.person_id,
                    display_name=r.person.display_name,
                    email=r.person.email,
                    phone=r.person.phone,
                    language=r.person.language,
                    confirmation_token=token,
                    confirm_by=confirm_by,
                )
            )
        emissions.append(Emission(events, f"person:{r.person_id}", r.correlation_id))
        registrations.append(Registration(r.person_id, created=True, confirmation_token=token))
    if confirmations:
        await store.insert_confirmations(conn, confirmations)
    if emissions:
        await emit_many(conn, emissions, producer=PRODUCER)
    return registrations


async def confirm_consent(
    conn: DbConnection, token: str, *, correlation_id: str | None = None
) -> Confirmation:
    """Confirm through a link's token. Only the first use changes anything, announces
    ``person.consent_confirmed`` and grants what a confirmation grants (``people.consent``);
    later ones find it confirmed."""
    async with conn.transaction():
        row = await store.confirm(conn, token_hash(token))
        if row is not None:
            await emit(
                conn,
                ConsentConfirmed(person_id=row["person_id"], confirmed_at=row["confirmed_at"]),
                producer=PRODUCER,
                correlation_id=correlation_id,
                aggregate=f"person:{row['person_id']}",
            )
            await grant_on_confirmation(conn, row["person_id"], correlation_id=correlation_id)
            return Confirmation.CONFIRMED
    return await confirmation_state(conn, token)


async def confirmation_state(conn: DbConnection | asyncpg.Pool, token: str) -> Confirmation:
    row = await store.find_confirmation(conn, token_hash(token))
    if row is None:
        return Confirmation.UNKNOWN
    if row["confirmed_at"] is not None:
        return Confirmation.CONFIRMED
    return Confirmation.EXPIRED if row["expired"] else Confirmation.PENDING
