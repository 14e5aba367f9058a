"""Every write a meeting's host makes, each with its audit entry and its events in the same
transaction: scheduling, changing (``meeting.updated`` with the next sequence, and the waitlist
promoted into seats a larger capacity frees), cancelling, and check-in. The API and the console
pages both write through here. Each write locks the meeting first and checks that it is the
account's then: an organizer's when an organisation of theirs hosts it, a CoP lead's when their
CoP does (admins all)."""

import uuid
from datetime import UTC, datetime
from enum import Enum
from typing import NamedTuple
from uuid import UUID

import asyncpg

from services.engagement.accounts.audit import AuditedWriter
from services.engagement.meetings import store
from services.engagement.meetings.events import PRODUCER, emit_meeting, facts
from services.engagement.meetings.models import Attendance, Meeting, meeting_of
from services.engagement.meetings.registering import promote_waiting
from services.engagement.meetings.rules import MeetingFields, MeetingStatus, changed_fields
from shared.auth import Need, cop, organisation
from shared.contracts import MeetingAttended, MeetingCancelled, MeetingScheduled, MeetingUpdated
from shared.db import DbConnection
from shared.outbox import emit


def host(organisation_id: UUID | None, cop_id: UUID | None) -> Need:
    """What an account needs to write for a meeting of this host."""
    if cop_id is not None:
        return cop(cop_id)
    assert organisation_id is not None  # a meeting has one host (the table's check)
    return organisation(organisation_id)


class Why(NamedTuple):
    field: str | None  # the field a refusal is about; None: the whole request
    status: int
    detail: str


class Refusal(Enum):
    UNKNOWN_ORGANISATION = Why("organisation_id", 422, "no such organisation")
    UNKNOWN_COP = Why("cop_id", 422, "no such CoP")
    CANCELLED = Why("status", 409, "the meeting is cancelled: it cannot be changed")
    FEWER_SEATS = Why("capacity", 409, "fewer seats than registrants holding one")
    NOT_YOURS = Why(None, 403, "not a meeting your roles host")
    NOT_FOUND = Why(None, 404, "no such meeting")


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.name)
        self.refusal = refusal


_FOREIGN_KEYS = {
    "meetings_organisation_id_fkey": Refusal.UNKNOWN_ORGANISATION,
    "meetings_cop_id_fkey": Refusal.UNKNOWN_COP,
}


async def _reread(conn: DbConnection, meeting_id: UUID) -> Meeting:
    row = await store.meeting(conn, meeting_id)
    assert row is not None  # locked or written by this transaction
    return meeting_of(row)


async def schedule(
    conn: DbConnection,
    meeting_id: UUID,
    fields: MeetingFields,
    correlation_id: str | None,
    actor: str | None,
    *,
    is_demo: bool = False,
) -> bool:
    """In the caller's transaction: the meeting, announced; False when the id exists (the
    demo's fixed ids: loading again changes nothing)."""
    if not await store.insert(conn, meeting_id, fields, is_demo=is_demo):
        return False
    meeting = await _reread(conn, meeting_id)
    event = MeetingScheduled(meeting=facts(meeting), scheduled_at=meeting.updated_at)
    await emit_meeting(conn, event, meeting, correlation_id, actor)
    return True


async def change(
    conn: DbConnection, before: Meeting, fields: MeetingFields, correlation_id: str | None, actor: str | None
) -> tuple[str, ...]:
    """In the caller's transaction, the meeting locked as ``before``: the fields that changed
    (none: nothing is written), ``meeting.updated`` and the waitlist promoted into new seats."""
    if before.status is MeetingStatus.CANCELLED:
        raise Refused(Refusal.CANCELLED)
    if fields.capacity is not None and fields.capacity < before.confirmed:
        raise Refused(Refusal.FEWER_SEATS)
    changed = changed_fields(before.fields(), fields)
    if not changed:
        return ()
    await store.update(conn, before.id, fields)
    meeting = await _reread(conn, before.id)
    event = MeetingUpdated(
        meeting=facts(meeting),
        join_url=meeting.join_url,
        recording_url=meeting.recording_url,
        changed=changed,
        updated_at=meeting.updated_at,
    )
    await emit_meeting(conn, event, meeting, correlation_id, actor)
    await promote_waiting(conn, before.id, correlation_id)
    return changed


async def cancel(conn: DbConnection, before: Meeting, correlation_id: str | None, actor: str | None) -> None:
    """In the caller's transaction, the meeting locked as ``before``."""
    if before.status is MeetingStatus.CANCELLED:
        raise Refused(Refusal.CANCELLED)
    await store.cancel(conn, before.id)
    meeting = await _reread(conn, before.id)
    event = MeetingCancelled(meeting=facts(meeting), cancelled_at=meeting.cancelled_at or datetime.now(UTC))
    await emit_meeting(conn, event, meeting, correlation_id, actor)


async def locked(conn: DbConnection, meeting_id: UUID) -> Meeting | None:
    row = await store.lock(conn, meeting_id)
    return None if row is None else meeting_of(row)


class Writer(AuditedWriter):
    """A host's writes, each with its audit entry."""

    @property
    def _actor(self) -> str:
        return f"account:{self.account.id}"

    async def _lock(self, conn: DbConnection, meeting_id: UUID) -> Meeting:
        found = await locked(conn, meeting_id)
        if found is None:
            raise Refused(Refusal.NOT_FOUND)
        if not host(found.organisation_id, found.cop_id).met_by(self.account):
            raise Refused(Refusal.NOT_YOURS)
        return found

    async def schedule(self, fields: MeetingFields) -> UUID:
        """A new meeting; its id. The caller has checked the account may host it."""
        scheduled = uuid.uuid4()
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await schedule(conn, scheduled, fields, self.request_id, self._actor)
                await self._audit(conn, "meeting.scheduled", f"meeting:{scheduled}")
        except asyncpg.ForeignKeyViolationError as exc:
            raise Refused(_FOREIGN_KEYS.get(exc.constraint_name or "", Refusal.NOT_FOUND)) from exc
        return scheduled

    async def change(self, meeting_id: UUID, fields: MeetingFields) -> tuple[str, ...]:
        """Change a scheduled meeting (the caller has checked the account may host it as
        ``fields`` says); the fields that changed."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                before = await self._lock(conn, meeting_id)
                changed = await change(conn, before, fields, self.request_id, self._actor)
                if changed:
                    await self._audit(conn, "meeting.changed", f"meeting:{meeting_id}")
        except asyncpg.ForeignKeyViolationError as exc:
            raise Refused(_FOREIGN_KEYS.get(exc.constraint_name or "", Refusal.NOT_FOUND)) from exc
        return changed

    async def cancel(self, meeting_id: UUID) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await cancel(conn, await self._lock(conn, meeting_id), self.request_id, self._actor)
            await self._audit(conn, "meeting.cancelled", f"meeting:{meeting_id}")

    async def check_in(self, meeting_id: UUID, attendance: Attendance) -> int:
        """Record who came (of those holding a seat); ``meeting.attended`` for each newly come."""
        async with self.pool.acquire() as conn, conn.transaction():
            await self._lock(conn, meeting_id)
            come = await store.record_attendance(conn, meeting_id, attendance.attended, attendance.shown)
            for row in come:
                event = MeetingAttended(
                    registration_id=row["id"],
                    meeting_id=meeting_id,
                    person_id=row["person_id"],
                    attended_at=row["attended_at"],
                )
                await emit(
                    conn,
                    event,
                    producer=PRODUCER,
                    correlation_id=self.request_id,
                    actor=self._actor,
                    aggregate=f"person:{row['person_id']}",
                )
            await self._audit(conn, "meeting.checked_in", f"meeting:{meeting_id}")
        return len(come)
