"""The meetings JSON API. A meeting's host is an organisation or a CoP, so its routes admit any
account and each handler checks the host before reading or writing anything: the organisation's
organizers, the CoP's leads and admins (shared/auth.py). Two operations are public: a meeting's
public data (never its join link) and registering for it."""

from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from services.engagement import throttle
from services.engagement.community.api import _json, path_id, query_of, total
from services.engagement.community.models import pages
from services.engagement.meetings import registering, store
from services.engagement.meetings.changes import Refused, Writer, host
from services.engagement.meetings.models import (
    Attendance,
    AttendanceRecorded,
    Meeting,
    MeetingList,
    MeetingRegistrationAccepted,
    PublicMeeting,
    RegistrationList,
    meeting_of,
    public_of,
    registration_of,
)
from services.engagement.meetings.rules import (
    MeetingFields,
    RegistrationFields,
    RegistrationStatus,
    closed_for_registration,
    location_of,
    summarise,
)
from shared.auth import ANY_ACCOUNT, Account, Role, check, requires
from shared.http import POOL, SETTINGS, request_id
from shared.openapi import Operation
from shared.problems import Problem, parse_json, refusal

M = TypeVar("M", bound=BaseModel)


def own_hosts(account: Account) -> tuple[list[UUID] | None, list[UUID] | None]:
    """The organisations and CoPs whose meetings the account works on; (None, None): all."""
    if account.is_admin:
        return None, None
    scopes = {role: [g.scope for g in account.grants if g.role is role and g.scope] for role in Role}
    return scopes[Role.ORGANIZER], scopes[Role.COP_LEAD]


def refused(exc: Refused) -> Problem:
    field, status, detail = exc.refusal.value
    return refusal(status, detail, field)


async def parsed(request: web.Request, model: type[M]) -> M:
    """The body as ``model``; a refusal that spans fields is located at the field it names."""
    try:
        return await parse_json(request, model)
    except Problem as exc:
        for error in exc.extra.get("errors", []):
            if error["field"] == "(body)":
                error["field"] = location_of(error["message"], model)
        raise


async def meeting_for(request: web.Request, pool: asyncpg.Pool, meeting_id: UUID) -> tuple[Account, Meeting]:
    """The meeting and the account, once it is known to host it; else 404 or 403."""
    row = await store.meeting(pool, meeting_id)
    if row is None:
        raise Problem(404, "Not found", "no such meeting")
    found = meeting_of(row)
    return check(request, host(found.organisation_id, found.cop_id)), found


@requires(ANY_ACCOUNT)
async def list_meetings(request: web.Request) -> web.Response:
    account = check(request, ANY_ACCOUNT)
    query = query_of(request)
    rows = await store.meetings(request.app[POOL], query.q, query.offset, *own_hosts(account))
    items = [meeting_of(row) for row in rows]
    return _json(MeetingList(items=items, page=query.page, pages=pages(total(rows))))


@requires(ANY_ACCOUNT)
async def create_meeting(request: web.Request) -> web.Response:
    fields = await parsed(request, MeetingFields)
    writer = Writer.of(request, check(request, host(fields.organisation_id, fields.cop_id)))
    try:
        meeting_id = await writer.schedule(fields)
    except Refused as exc:
        raise refused(exc) from exc
    return await _meeting(request, meeting_id, status=201)


@requires(ANY_ACCOUNT)
async def get_meeting(request: web.Request) -> web.Response:
    meeting_id = path_id(request, "meeting_id")
    await meeting_for(request, request.app[POOL], meeting_id)
    return await _meeting(request, meeting_id)


@requires(ANY_ACCOUNT)
async def change_meeting(request: web.Request) -> web.Response:
    """Moving it to another host needs the account to hold that one too."""
    meeting_id = path_id(request, "meeting_id")
    account, _ = await meeting_for(request, request.app[POOL], meeting_id)
    fields = await parsed(request, MeetingFields)
    check(request, host(fields.organisation_id, fields.cop_id))
    try:
        await Writer.of(request, account).change(meeting_id, fields)
    except Refused as exc:
        raise refused(exc) from exc
    return await _meeting(request, meeting_id)


@requires(ANY_ACCOUNT)
async def cancel_meeting(request: web.Request) -> web.Response:
    meeting_id = path_id(request, "meeting_id")
    account, _ = await meeting_for(request, request.app[POOL], meeting_id)
    try:
        await Writer.of(request, account).cancel(meeting_id)
    except Refused as exc:
        raise refused(exc) from exc
    return await _meeting(request, meeting_id)


async def registration_list(
    pool: asyncpg.Pool, found: Meeting, q: str, page: int, offset: int
) -> RegistrationList:
    rows = await store.registrations(pool, found.id, q, offset)
    needs = summarise(
        [
            (RegistrationStatus(r["status"]), tuple(r["needs"]), r["interpretation"])
            for r in await store.needs_of(pool, found.id)
        ]
    )
    return RegistrationList(
        items=[registration_of(row) for row in rows],
        page=page,
        pages=pages(total(rows)),
        confirmed=found.confirmed,
        waitlisted=found.waitlisted,
        needs=needs,
    )


@requires(ANY_ACCOUNT)
async def list_registrations(request: web.Request) -> web.Response:
    """Registrants' names and addresses are personal data: the host and admins only."""
    pool = request.app[POOL]
    _, found = await meeting_for(request, pool, path_id(request, "meeting_id"))
    query = query_of(request)
    return _json(await registration_list(pool, found, query.q, query.page, query.offset))


@requires(ANY_ACCOUNT)
async def record_attendance(request: web.Request) -> web.Response:
    meeting_id = path_id(request, "meeting_id")
    account, _ = await meeting_for(request, request.app[POOL], meeting_id)
    attendance = await parse_json(request, Attendance)
    try:
        come = await Writer.of(request, account).check_in(meeting_id, attendance)
    except Refused as exc:
        raise refused(exc) from exc
    return _json(AttendanceRecorded(newly_attended=come))


async def public_meeting(request: web.Request) -> web.Response:
    return _json(await public_view(request.app[POOL], path_id(request, "meeting_id")))


async def public_view(pool: asyncpg.Pool, meeting_id: UUID) -> PublicMeeting:
    row = await store.meeting(pool, meeting_id)
    if row is None:
        raise Problem(404, "Not found", "no such meeting")
    found = meeting_of(row)
    closed = closed_for_registration(found.status, found.ends_at, datetime.now(UTC))
    return public_of(found, closed is None)


async def register(request: web.Request) -> web.Response:
    """Anyone may register, no account: counted in the registrations' per-address limit."""
    meeting_id = path_id(request, "meeting_id")
    pool = request.app[POOL]
    wait = await throttle.seconds_to_wait(pool, request, request.app[SETTINGS])
    if wait is not None:
        raise Problem(429, "Too many registrations", f"try again in {wait} seconds")
    fields = await parsed(request, RegistrationFields)
    try:
        accepted = await registering.register(pool, meeting_id, fields, request_id(request))
    except registering.Unregistrable as exc:
        if exc.why is None:
            raise Problem(404, "Not found", "no such meeting") from exc
        raise Problem(409, "Closed", f"the meeting is {exc.why.value}: it takes no registrations") from exc
    return _json(accepted, 201)


async def _meeting(request: web.Request, meeting_id: UUID, status: int = 200) -> web.Response:
    row = await store.meeting(request.app[POOL], meeting_id)
    if row is None:
        raise Problem(404, "Not found", "no such meeting")
    response = _json(meeting_of(row), status)
    response.headers["Location"] = f"{MEETINGS}/{meeting_id}"
    return response


MEETINGS = "/api/v1/meetings"
MEETING = MEETINGS + "/{meeting_id}"
REGISTRATIONS = MEETING + "/registrations"

OPERATIONS = (
    Operation(
        "GET",
        MEETINGS,
        "Meetings your organisations or CoPs host (all, for admins), by title (?q=), a page at a time",
        response=MeetingList,
        problems=(422,),
        need=ANY_ACCOUNT,
    ),
    Operation(
        "POST",
        MEETINGS,
        "Schedule a meeting hosted by one of your organisations or CoPs: meeting.scheduled",
        request=MeetingFields,
        response=Meeting,
        status=201,
        need=ANY_ACCOUNT,
    ),
    Operation(
        "GET",
        MEETING,
        "One meeting, as its host sees it",
        response=Meeting,
        problems=(404,),
        need=ANY_ACCOUNT,
    ),
    Operation(
        "PUT",
        MEETING,
        "Change a scheduled meeting: meeting.updated, next sequence; a larger capacity seats the waitlist",
        request=MeetingFields,
        response=Meeting,
        problems=(404, 409),
        need=ANY_ACCOUNT,
    ),
    Operation(
        "POST",
        MEETING + "/cancel",
        "Cancel a meeting: meeting.cancelled",
        response=Meeting,
        problems=(404, 409),
        need=ANY_ACCOUNT,
    ),
    Operation(
        "GET",
        REGISTRATIONS,
        "A meeting's registrations (seated, waitlist, cancelled) and the access needs asked for",
        response=RegistrationList,
        problems=(404, 422),
        need=ANY_ACCOUNT,
    ),
    Operation(
        "POST",
        MEETING + "/attendance",
        "Check-in: who came, of those on the list shown (meeting.attended for each newly come)",
        request=Attendance,
        response=AttendanceRecorded,
        problems=(404,),
        need=ANY_ACCOUNT,
    ),
    Operation(
        "GET",
        MEETING + "/public",
        "What anyone may read about a meeting (never its join link)",
        response=PublicMeeting,
        problems=(404,),
        public=True,
    ),
    Operation(
        "POST",
        REGISTRATIONS,
        "Register for a meeting, no account: a seat or a place in the waitlist, and a personal link",
        request=RegistrationFields,
        response=MeetingRegistrationAccepted,
        status=201,
        problems=(404, 409, 429),
        public=True,
    ),
)


def add_routes(app: web.Application) -> None:
    app.router.add_get(MEETINGS, list_meetings)
    app.router.add_post(MEETINGS, create_meeting)
    app.router.add_get(MEETING, get_meeting)
    app.router.add_put(MEETING, change_meeting)
    app.router.add_post(MEETING + "/cancel", cancel_meeting)
    app.router.add_get(REGISTRATIONS, list_registrations)
    app.router.add_post(MEETING + "/attendance", record_attendance)
    app.router.add_get(MEETING + "/public", public_meeting)
    app.router.add_post(REGISTRATIONS, register)
