"""Changing a person's consent: the changes recorded and ``person.consent_changed`` (the whole
new set) emitted in one transaction, so notifications stops or starts sending as soon as it hears."""

from uuid import UUID

from services.engagement.people import store
from services.engagement.people.consent import (
    ConsentChange,
    applied,
    confirmation_change,
    label,
    ordered,
    unreachable,
)
from shared.contracts import Consent, ConsentChanged
from shared.db import DbConnection
from shared.outbox import emit

PRODUCER = "engagement"


class ConsentRefused(ValueError):
    """The change cannot be made (unknown or erased person, no address on the channel)."""


async def change_consent(
    conn: DbConnection, person_id: UUID, change: ConsentChange, *, correlation_id: str | None = None
) -> frozenset[Consent]:
    """Apply ``change`` in the caller's transaction; returns the person's consent now. Changes
    that change nothing (granting what is given) are not recorded, and without any, nothing is
    emitted."""
    if not conn.is_in_transaction():
        raise RuntimeError("change_consent() runs in the caller's transaction")
    person = await store.lock_person(conn, person_id)
    if person is None:
        erased = await store.is_erased(conn, person_id)
        raise ConsentRefused(f"person {person_id} {'was erased' if erased else 'is not known'}")
    if missing := unreachable(change, email=person["email"], phone=person["phone"]):
        raise ConsentRefused(f"person {person_id} has no address for {', '.join(label(c) for c in missing)}")
    current = await store.current_consents(conn, person_id)
    changes = change.effective(current)
    if not changes:
        return current
    changed_at = await store.insert_changes(conn, person_id, changes, change.method, change.changed_by)
    now = applied(current, changes)
    await emit(
        conn,
        ConsentChanged(person_id=person_id, consents=ordered(now), changed_at=changed_at),
        producer=PRODUCER,
        correlation_id=correlation_id,
        actor=None if change.changed_by.kind == "person" else str(change.changed_by),
        aggregate=f"person:{person_id}",
    )
    return now


async def grant_on_confirmation(
    conn: DbConnection, person_id: UUID, *, correlation_id: str | None = None
) -> None:
    """In the confirmation's transaction: what a confirmed registration grants (``consent``)."""
    person = await store.lock_person(conn, person_id)
    if person is not None and (change := confirmation_change(email=person["email"])):
        await change_consent(conn, person_id, change, correlation_id=correlation_id)
