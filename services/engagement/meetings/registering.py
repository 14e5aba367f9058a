"""Residents registering for a meeting, and changing or cancelling by their personal link: no
account. Each write locks the meeting first (store.py), so the seats are counted one
registration after another and never overfill it; a seat freed by a cancellation goes to the
first waiting in the same transaction, with its event.

The registrant is a person: the one registered with the address typed (e-mail, else phone),
or a new one, registered as registration.py registers anyone (``person.registered``) and given
no consent: registering for a meeting is consent to hear about that meeting only, which the
registration itself records (purpose ``meetings``). The answer is the same whether the address
was known or not, so it tells nobody who is registered."""

import enum
import secrets
import uuid
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from services.engagement.meetings import store
from services.engagement.meetings.events import about, emit_registration
from services.engagement.meetings.models import (
    Meeting,
    MeetingRegistrationAccepted,
    Registration,
    meeting_of,
    registration_of,
)
from services.engagement.meetings.rules import (
    Closed,
    RegistrationChange,
    RegistrationFields,
    RegistrationStatus,
    closed_for_registration,
    seat,
    seats_free,
)
from services.engagement.registration import RegistrationRequest, register_people, token_hash
from shared.contracts import (
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationPromoted,
    RegistrationWaitlisted,
)
from shared.db import DbConnection


class Unregistrable(Exception):
    """The meeting takes no registration: none such, cancelled or over."""

    def __init__(self, why: Closed | None) -> None:
        super().__init__(why.value if why else "no such meeting")
        self.why = why


def link_path(token: str) -> str:
    return f"/meetings/r/{token}"


async def register(
    pool: asyncpg.Pool, meeting_id: UUID, fields: RegistrationFields, correlation_id: str | None
) -> MeetingRegistrationAccepted:
    async with pool.acquire() as conn, conn.transaction():
        return await register_in(conn, meeting_id, fields, correlation_id)


async def register_in(
    conn: DbConnection, meeting_id: UUID, fields: RegistrationFields, correlation_id: str | None
) -> MeetingRegistrationAccepted:
    """``register`` in the caller's transaction."""
    token = secrets.token_urlsafe(32)
    row = await store.lock(conn, meeting_id)
    if row is None:
        raise Unregistrable(None)
    meeting = meeting_of(row)
    why = closed_for_registration(meeting.status, meeting.ends_at, datetime.now(UTC))
    if why is not None:
        raise Unregistrable(why)
    person_id = await _person_for(conn, fields, correlation_id)
    status = seat(meeting.capacity, meeting.confirmed)
    registration = registration_of(
        await store.insert_registration(
            conn, uuid.uuid4(), meeting_id, person_id, token_hash(token), fields, status.value
        )
    )
    if status is RegistrationStatus.CONFIRMED:
        event: RegistrationConfirmed | RegistrationWaitlisted = RegistrationConfirmed(
            **about(registration, meeting),
            link_path=link_path(token),
            join_url=meeting.join_url,
            confirmed_at=registration.registered_at,
        )
    else:
        assert registration.waiting_position is not None  # waitlisted
        event = RegistrationWaitlisted(
            **about(registration, meeting),
            link_path=link_path(token),
            position=registration.waiting_position,
            waitlisted_at=registration.registered_at,
        )
    await emit_registration(conn, event, registration, correlation_id)
    return MeetingRegistrationAccepted(
        registration_id=registration.id,
        status=registration.status,
        waiting_position=registration.waiting_position,
        link_path=link_path(token),
    )


async def _person_for(conn: DbConnection, fields: RegistrationFields, correlation_id: str | None) -> UUID:
    """The person with this address, or a new one. A concurrent first registration of the same
    new e-mail address makes one person: the unique address makes the second insert wait, then
    skip, and the second finds the first's person."""
    found = await store.find_person(conn, fields.email, fields.phone)
    if found is not None:
        return found
    request = RegistrationRequest(fields.person(), correlation_id=correlation_id)
    [registered] = await register_people(conn, [request])
    if registered.created:
        return registered.person_id
    found = await store.find_person(conn, fields.email, fields.phone)
    assert found is not None  # skipped only for an address registered meanwhile
    return found


class LinkState(enum.Enum):
    CHANGED = "changed"
    CANCELLED = "cancelled"
    ALREADY_CANCELLED = "already cancelled"
    UNKNOWN = "unknown"


async def by_token(conn: DbConnection | asyncpg.Pool, token: str) -> Registration | None:
    row = await store.registration_by_token(conn, token_hash(token))
    return None if row is None else registration_of(row)


async def cancel(pool: asyncpg.Pool, token: str, correlation_id: str | None) -> LinkState:
    """Cancel by the personal link; a seat it frees goes to the first waiting, in this
    transaction."""
    found = await by_token(pool, token)
    if found is None:
        return LinkState.UNKNOWN
    async with pool.acquire() as conn, conn.transaction():
        row = await store.lock(conn, found.meeting_id)
        assert row is not None  # a meeting is never deleted while it has registrations
        status = await store.lock_registration(conn, found.id)
        if status is None or status == RegistrationStatus.CANCELLED:
            return LinkState.ALREADY_CANCELLED
        await store.cancel_registration(conn, found.id)
        meeting = meeting_of(row)
        cancelled = await by_token(conn, token)
        assert cancelled is not None and cancelled.status is RegistrationStatus.CANCELLED
        event = RegistrationCancelled(
            **about(cancelled, meeting), cancelled_at=cancelled.cancelled_at or datetime.now(UTC)
        )
        await emit_registration(conn, event, cancelled, correlation_id)
        await promote_waiting(conn, meeting.id, correlation_id)
    return LinkState.CANCELLED


async def change(pool: asyncpg.Pool, token: str, change: RegistrationChange) -> LinkState:
    """The registrant's language and access needs, changed by their link (not once cancelled)."""
    async with pool.acquire() as conn, conn.transaction():
        found = await by_token(conn, token)
        if found is None:
            return LinkState.UNKNOWN
        if await store.lock_registration(conn, found.id) == RegistrationStatus.CANCELLED:
            return LinkState.ALREADY_CANCELLED
        await store.change_registration(conn, found.id, change)
    return LinkState.CHANGED


async def promote_waiting(conn: DbConnection, meeting_id: UUID, correlation_id: str | None) -> int:
    """Give the seats free at a meeting the caller has locked to the first waiting, each with
    ``registration.promoted``; how many. Nobody is promoted to a cancelled or past meeting."""
    row = await store.meeting(conn, meeting_id)
    assert row is not None  # locked by the caller
    meeting = meeting_of(row)
    if closed_for_registration(meeting.status, meeting.ends_at, datetime.now(UTC)) is not None:
        return 0
    promoted = await store.promote(
        conn, meeting_id, seats_free(meeting.capacity, meeting.confirmed, meeting.waitlisted)
    )
    for registration_id in promoted:
        reg_row = await store.registration(conn, registration_id)
        assert reg_row is not None  # promoted in this transaction
        registration = registration_of(reg_row)
        await emit_registration(
            conn, _promoted(registration, meeting, reg_row["confirmed_at"]), registration, correlation_id
        )
    return len(promoted)


def _promoted(registration: Registration, meeting: Meeting, at: datetime) -> RegistrationPromoted:
    return RegistrationPromoted(**about(registration, meeting), join_url=meeting.join_url, promoted_at=at)


async def release_seats_of(conn: DbConnection, person_id: UUID, correlation_id: str | None) -> None:
    """Before a person is erased, in the erasure's transaction: their registrations go and the
    seats they held go to the first waiting. Their meetings are locked before the person's row,
    in the order registering takes them (meeting, then person), so the two never deadlock."""
    seated = [row["meeting_id"] for row in await store.seated_of(conn, person_id)]
    for meeting_id in seated:
        await store.lock(conn, meeting_id)
    await store.drop_registrations_of(conn, person_id)
    for meeting_id in seated:
        await promote_waiting(conn, meeting_id, correlation_id)
