"""The meetings' pages: a meeting's public page where a resident registers (no account), the
personal link's page to change or cancel, and the host's console (the list, the form, the
registrations with the access-needs summary and the waitlist, check-in on a phone). Forms
without JavaScript, as the CoP and campaign pages: an error beside its field with what was
typed kept, a write answered 303, an expired form (CSRF) 422 with the form again."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiMapping
from pydantic import ValidationError

from services.engagement import throttle
from services.engagement.community import store as community
from services.engagement.community.api import total
from services.engagement.community.models import pages
from services.engagement.community.pages import _page, _path_id, _query, _see_other
from services.engagement.meetings import registering, store
from services.engagement.meetings.api import own_hosts, registration_list
from services.engagement.meetings.changes import Refusal, Refused, Writer, host
from services.engagement.meetings.models import Attendance, Meeting, meeting_of
from services.engagement.meetings.rules import (
    ACCESS_NEEDS,
    KINDS,
    MeetingFields,
    RegistrationChange,
    RegistrationFields,
    closed_for_registration,
    in_language,
    location_of,
)
from shared import csrf
from shared.auth import ANY_ACCOUNT, Account, check, requires
from shared.http import POOL, SETTINGS, request_id
from shared.i18n import gettext_ as _

TEXTS = ("title_en", "title_es", "description_en", "description_es")
TYPED = ("host", "kind", *TEXTS, "time_zone", "starts", "ends", "venue", "join_url", "capacity")
TYPED_AFTER = ("recording_url", "decision_id")


def field_messages() -> dict[str, str]:
    return {
        "host": _("Choose one of your organisations or CoPs."),
        "kind": _("Choose a kind."),
        "title_en": _("Enter a title of up to 200 characters, on one line."),
        "title_es": _("Enter a title of up to 200 characters, on one line."),
        "description_en": _("Up to 2000 characters, without control characters."),
        "description_es": _("Up to 2000 characters, without control characters."),
        "time_zone": _("Enter a time zone name such as America/Los_Angeles."),
        "starts": _("Enter a date and time that exists in the meeting's time zone."),
        "ends": _("Enter an end after the start, within seven days."),
        "venue": _("An in-person, hybrid or public meeting needs a venue, on one line."),
        "join_url": _("A webinar or hybrid meeting needs a join link starting with https://."),
        "capacity": _("Enter a whole number of seats, or leave it empty for no limit."),
        "recording_url": _("Enter a link starting with https://."),
        "decision_id": _("Enter a decision id."),
        "display_name": _("Enter your name."),
        "email": _("Enter an e-mail address or a phone number (or both)."),
        "phone": _("Enter a phone number of 8 to 15 digits."),
        "needs": _("Choose from the list."),
        "interpretation": _("Up to 60 characters, on one line."),
        "language": _("Choose English or Spanish."),
        "form": _("This form had expired. Send it again."),
    }


def refusal_message(refusal: Refusal) -> tuple[str, str]:
    if refusal is Refusal.NOT_YOURS:
        raise web.HTTPForbidden()
    if refusal is Refusal.NOT_FOUND:
        raise web.HTTPNotFound()
    messages = {
        Refusal.UNKNOWN_ORGANISATION: ("host", field_messages()["host"]),
        Refusal.UNKNOWN_COP: ("host", field_messages()["host"]),
        Refusal.CANCELLED: ("form", _("This meeting is cancelled: it cannot be changed.")),
        Refusal.FEWER_SEATS: ("capacity", _("More people hold a seat than this capacity.")),
    }
    return messages[refusal]


def errors_of(exc: ValidationError, model: type[MeetingFields] | type[RegistrationFields]) -> dict[str, str]:
    """Each refused field's message by the form's field: ``title.es`` is title_es, a refusal
    across fields is at the field it names, the host's id at the host."""
    messages = field_messages()
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        if not loc:
            field = location_of(error["msg"], model)
        elif loc[0] in ("title", "description") and len(loc) > 1:
            field = f"{loc[0]}_{loc[1]}"
        else:
            field = loc[0]
        field = "host" if field in ("organisation_id", "cop_id") else field
        errors.setdefault(field, messages.get(field, messages["form"]))
    return errors


def typed_of(data: MultiMapping[Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {name: str(data.get(name, "")) for name in (*TYPED, *TYPED_AFTER)}
    typed["step_free_access"] = bool(data.get("step_free_access"))
    return typed


def typed_from(found: Meeting) -> dict[str, Any]:
    scope = f"cop:{found.cop_id}" if found.cop_id else f"organisation:{found.organisation_id}"
    return {
        "host": scope,
        "kind": found.kind,
        "title_en": found.title.en,
        "title_es": found.title.es or "",
        "description_en": found.description.en,
        "description_es": found.description.es or "",
        "time_zone": found.time_zone,
        "starts": found.starts,
        "ends": found.ends,
        "venue": found.venue or "",
        "step_free_access": found.step_free_access,
        "join_url": found.join_url or "",
        "capacity": "" if found.capacity is None else str(found.capacity),
        "recording_url": found.recording_url or "",
        "decision_id": str(found.decision_id or ""),
    }


def fields_of(typed: Mapping[str, Any]) -> MeetingFields:
    kind, _sep, scope = typed["host"].partition(":")
    return MeetingFields.model_validate(
        {
            "organisation_id": scope if kind == "organisation" else None,
            "cop_id": scope if kind == "cop" else None,
            "kind": typed["kind"],
            "title": {"en": typed["title_en"], "es": typed["title_es"]},
            "description": {"en": typed["description_en"], "es": typed["description_es"]},
            "time_zone": typed["time_zone"].strip(),
            "starts": typed["starts"],
            "ends": typed["ends"],
            "venue": typed["venue"],
            "step_free_access": typed["step_free_access"],
            **{name: typed[name].strip() or None for name in ("join_url", "capacity", *TYPED_AFTER)},
        }
    )


async def _hosts(request: web.Request, account: Account) -> list[tuple[str, str]]:
    """The hosts a form offers: (value, name) of the account's organisations and CoPs."""
    pool = request.app[POOL]
    organisations, cops = own_hosts(account)
    choices = [
        (f"organisation:{row['id']}", row["name"])
        for row in await community.organisations(pool, "", 0)
        if organisations is None or row["id"] in organisations
    ]
    choices += [
        (f"cop:{row['id']}", row["topic"])
        for row in await community.cops(pool, "", 0)
        if cops is None or row["id"] in cops
    ]
    return choices


# The host's console


@requires(ANY_ACCOUNT)
async def meetings_page(request: web.Request) -> web.Response:
    account = check(request, ANY_ACCOUNT)
    query = _query(request)
    rows = await store.meetings(request.app[POOL], query.q, query.offset, *own_hosts(account))
    context = {"items": [meeting_of(row) for row in rows], "query": query, "pages": pages(total(rows))}
    return _page(request, "meetings.html", context)


async def _form(
    request: web.Request,
    account: Account,
    found: Meeting | None,
    typed: Mapping[str, Any],
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    context = {
        "meeting": found,
        "typed": typed,
        "errors": errors,
        "hosts": await _hosts(request, account),
        "kinds": KINDS,
        "cancelled": "cancelled" in request.query,
    }
    return _page(request, "meeting_form.html", context, status)


@requires(ANY_ACCOUNT)
async def new_meeting_page(request: web.Request) -> web.Response:
    typed = {"kind": "webinar", "time_zone": "America/Los_Angeles", "step_free_access": False}
    return await _form(request, check(request, ANY_ACCOUNT), None, typed, {})


async def _save(request: web.Request, account: Account, found: Meeting | None) -> web.Response:
    data = await request.post()
    typed = typed_of(data)
    errors: dict[str, str] = {}
    if not csrf.is_valid(request, data.get(csrf.FIELD)):
        errors = {"form": field_messages()["form"]}
    else:
        try:
            fields = fields_of(typed)
            check(request, host(fields.organisation_id, fields.cop_id))
            writer = Writer.of(request, account)
            if found is None:
                meeting_id = await writer.schedule(fields)
            else:
                meeting_id = found.id
                await writer.change(meeting_id, fields)
            return _see_other(f"/console/meetings/{meeting_id}?saved=1")
        except ValidationError as exc:
            errors = errors_of(exc, MeetingFields)
        except Refused as exc:
            field, message = refusal_message(exc.refusal)
            errors = {field: message}
    return await _form(request, account, found, typed, errors, 422)


@requires(ANY_ACCOUNT)
async def create_meeting(request: web.Request) -> web.Response:
    return await _save(request, check(request, ANY_ACCOUNT), None)


async def _owned(request: web.Request) -> tuple[Account, Meeting]:
    """The meeting the path names and the account, once it hosts it (else 404, 403)."""
    row = await store.meeting(request.app[POOL], _path_id(request, "meeting_id"))
    if row is None:
        raise web.HTTPNotFound()
    found = meeting_of(row)
    return check(request, host(found.organisation_id, found.cop_id)), found


@requires(ANY_ACCOUNT)
async def meeting_page(request: web.Request) -> web.Response:
    account, found = await _owned(request)
    return await _form(request, account, found, typed_from(found), {})


@requires(ANY_ACCOUNT)
async def change_meeting(request: web.Request) -> web.Response:
    account, found = await _owned(request)
    return await _save(request, account, found)


@requires(ANY_ACCOUNT)
async def cancel_meeting(request: web.Request) -> web.Response:
    account, found = await _owned(request)
    if not csrf.is_valid(request, (await request.post()).get(csrf.FIELD)):
        return await _form(
            request, account, found, typed_from(found), {"form": field_messages()["form"]}, 422
        )
    try:
        await Writer.of(request, account).cancel(found.id)
    except Refused as exc:
        _field, message = refusal_message(exc.refusal)
        return await _form(request, account, found, typed_from(found), {"form": message}, 409)
    return _see_other(f"/console/meetings/{found.id}?cancelled=1")


@requires(ANY_ACCOUNT)
async def registrations_page(request: web.Request) -> web.Response:
    _account, found = await _owned(request)
    query = _query(request)
    listed = await registration_list(request.app[POOL], found, query.q, query.page, query.offset)
    context = {"meeting": found, "listed": listed, "query": query, "needs": ACCESS_NEEDS}
    return _page(request, "meeting_registrations.html", context)


async def _check_in_page(
    request: web.Request, found: Meeting, errors: Mapping[str, str], status: int = 200
) -> web.Response:
    query = _query(request)
    rows = await store.registrations(request.app[POOL], found.id, query.q, query.offset)
    seated = [row for row in rows if row["status"] == "confirmed"]
    context = {
        "meeting": found,
        "rows": seated,
        "query": query,
        "pages": pages(total(rows)),
        "errors": errors,
    }
    return _page(request, "meeting_check_in.html", context, status)


@requires(ANY_ACCOUNT)
async def check_in_page(request: web.Request) -> web.Response:
    _account, found = await _owned(request)
    return await _check_in_page(request, found, {})


@requires(ANY_ACCOUNT)
async def check_in(request: web.Request) -> web.Response:
    account, found = await _owned(request)
    data = await request.post()
    if not csrf.is_valid(request, data.get(csrf.FIELD)):
        return await _check_in_page(request, found, {"form": field_messages()["form"]}, 422)
    try:
        attendance = Attendance(
            attended=tuple(data.getall("attended", [])), shown=tuple(data.getall("shown", []))
        )
    except ValidationError:
        return await _check_in_page(request, found, {"form": field_messages()["needs"]}, 422)
    await Writer.of(request, account).check_in(found.id, attendance)
    return _see_other(f"/console/meetings/{found.id}/check-in?saved=1")


# The residents' pages


def _private(response: web.Response) -> web.Response:
    """A page whose address holds a registration's secret: kept out of other sites' logs and caches."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


async def _public_page(
    request: web.Request, typed: Mapping[str, Any], errors: Mapping[str, str], status: int = 200
) -> web.Response:
    row = await store.meeting(request.app[POOL], _path_id(request, "meeting_id"))
    if row is None:
        raise web.HTTPNotFound()
    found = meeting_of(row)
    closed = closed_for_registration(found.status, found.ends_at, datetime.now(UTC))
    context = {
        "meeting": found,
        "closed": closed.value if closed else None,
        "seats_left": None if found.capacity is None else max(0, found.capacity - found.confirmed),
        "typed": typed,
        "errors": errors,
        "needs": ACCESS_NEEDS,
        "texts": in_language,
    }
    return _page(request, "meeting_public.html", context, status)


async def public_meeting_page(request: web.Request) -> web.Response:
    return await _public_page(request, {"needs": []}, {})


def _registrant_typed(data: MultiMapping[Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {
        name: str(data.get(name, ""))
        for name in ("display_name", "email", "phone", "language", "interpretation")
    }
    typed["needs"] = [str(need) for need in data.getall("needs", [])]
    return typed


async def register(request: web.Request) -> web.Response:
    """Counted in the registrations' per-address limit, the platform's other anonymous write."""
    meeting_id = _path_id(request, "meeting_id")
    data = await request.post()
    typed = _registrant_typed(data)
    pool = request.app[POOL]
    wait = await throttle.seconds_to_wait(pool, request, request.app[SETTINGS])
    if wait is not None:
        minutes = max(1, round(wait / 60))
        message = _("Too many requests from your connection. Try again in %(minutes)s minutes.") % {
            "minutes": minutes
        }
        response = await _public_page(request, typed, {"form": message}, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    if not csrf.is_valid(request, data.get(csrf.FIELD)):
        return await _public_page(request, typed, {"form": field_messages()["form"]}, 422)
    try:
        fields = RegistrationFields.model_validate(
            {
                **typed,
                "email": typed["email"] or None,
                "phone": typed["phone"] or None,
                "language": typed["language"] or "en",
            }
        )
        accepted = await registering.register(pool, meeting_id, fields, request_id(request))
    except ValidationError as exc:
        return await _public_page(request, typed, errors_of(exc, RegistrationFields), 422)
    except registering.Unregistrable as exc:
        if exc.why is None:
            raise web.HTTPNotFound() from exc
        return await _public_page(request, typed, {}, 409)
    return _private(_see_other(f"{accepted.link_path}?registered=1"))


async def _registration_page(
    request: web.Request, errors: Mapping[str, str] | None = None, status: int = 200
) -> web.Response:
    token = request.match_info["token"]
    pool = request.app[POOL]
    found = await registering.by_token(pool, token)
    if found is None:
        raise web.HTTPNotFound()
    row = await store.meeting(pool, found.meeting_id)
    assert row is not None  # a meeting with registrations stays
    context = {
        "registration": found,
        "meeting": meeting_of(row),
        "token": token,
        "errors": errors or {},
        "needs": ACCESS_NEEDS,
        "texts": in_language,
        "just": {"registered", "changed", "cancelled"}.intersection(request.query),
    }
    return _private(_page(request, "registration.html", context, status))


async def registration_page(request: web.Request) -> web.Response:
    return await _registration_page(request)


async def change_registration(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    data = await request.post()
    if not csrf.is_valid(request, data.get(csrf.FIELD)):
        return await _registration_page(request, {"form": field_messages()["form"]}, 422)
    try:
        change = RegistrationChange.model_validate(
            {
                "language": data.get("language") or "en",
                "needs": data.getall("needs", []),
                "interpretation": data.get("interpretation", ""),
            }
        )
    except ValidationError as exc:
        return await _registration_page(request, errors_of(exc, RegistrationFields), 422)
    state = await registering.change(request.app[POOL], token, change)
    if state is registering.LinkState.UNKNOWN:
        raise web.HTTPNotFound()
    return _private(_see_other(f"/meetings/r/{token}?changed=1"))


async def cancel_registration(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    if not csrf.is_valid(request, (await request.post()).get(csrf.FIELD)):
        return await _registration_page(request, {"form": field_messages()["form"]}, 422)
    state = await registering.cancel(request.app[POOL], token, request_id(request))
    if state is registering.LinkState.UNKNOWN:
        raise web.HTTPNotFound()
    return _private(_see_other(f"/meetings/r/{token}?cancelled=1"))


LINK = r"/meetings/r/{token:[A-Za-z0-9_-]{32,128}}"  # a registration's personal link


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/meetings", meetings_page)
    app.router.add_get("/console/meetings/new", new_meeting_page)
    app.router.add_post("/console/meetings/new", create_meeting)
    app.router.add_get("/console/meetings/{meeting_id}", meeting_page)
    app.router.add_post("/console/meetings/{meeting_id}", change_meeting)
    app.router.add_post("/console/meetings/{meeting_id}/cancel", cancel_meeting)
    app.router.add_get("/console/meetings/{meeting_id}/registrations", registrations_page)
    app.router.add_get("/console/meetings/{meeting_id}/check-in", check_in_page)
    app.router.add_post("/console/meetings/{meeting_id}/check-in", check_in)
    app.router.add_get(LINK, registration_page)
    app.router.add_post(LINK, change_registration)
    app.router.add_post(LINK + "/cancel", cancel_registration)
    app.router.add_get("/meetings/{meeting_id}", public_meeting_page)
    app.router.add_post("/meetings/{meeting_id}", register)
