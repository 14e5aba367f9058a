"""The console's organisation and CoP pages, and the public page where a resident asks to join a
CoP. Forms without JavaScript: an error is shown beside its field with what was typed kept; a
write answers 303 to the page it changed (a reload does not post again).

An expired or forged form (CSRF) is answered 422 with the form again, not 403: 403 is kept for
"your roles do not allow this", which tests/test_access_control.py tells apart from a form that
only needs sending again."""

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

import aiohttp_jinja2
from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.engagement import throttle
from services.engagement.community import store
from services.engagement.community.api import COP_LEAD, ORGANIZER, cop_of, organisation_of, total
from services.engagement.community.changes import Refusal, Refused, Writer
from services.engagement.community.models import (
    CopFields,
    JoinRequest,
    NewMember,
    OrganisationFields,
    OrganisationKind,
    Query,
    pages,
)
from shared import csrf
from shared.auth import ADMIN, ANY_ACCOUNT, Account, Grant, Role, check, cop, organisation, requires
from shared.http import POOL, SETTINGS
from shared.i18n import gettext_ as _

M = TypeVar("M", bound=BaseModel)


def field_messages() -> dict[str, str]:
    """What to say beside a field whose value was refused, in the page's language."""
    return {
        "name": _("Enter a name of up to 200 characters, on one line."),
        "kind": _("Choose a kind."),
        "region_id": _("Choose a region from the list."),
        "topic": _("Enter a topic of up to 200 characters, on one line."),
        "description": _("Up to 2000 characters, without control characters."),
        "email": _("Enter an e-mail address such as name@example.org."),
        "organisation_id": _("Choose an organisation from the list."),
        "form": _("This form had expired. Send it again."),
    }


def refusal_message(refusal: Refusal) -> tuple[str, str]:
    messages = {
        Refusal.NAME_TAKEN: _("Another organisation has this name."),
        Refusal.TOPIC_TAKEN: _("Another CoP has this topic."),
        Refusal.UNKNOWN_PERSON: _(
            "No registered person has this e-mail address: ask them to register first."
        ),
        Refusal.ALREADY_MEMBER: _("Already a member of this CoP."),
        Refusal.NOT_FOUND: _("It no longer exists."),
    }
    field = "email" if refusal is Refusal.UNKNOWN_PERSON else refusal.field or "form"
    return field, messages.get(refusal, field_messages().get(field, ""))


def errors_of(exc: ValidationError) -> dict[str, str]:
    messages = field_messages()
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "form"
        errors.setdefault(field, messages.get(field, messages["form"]))
    return errors


def _form(data: Mapping[str, Any], *names: str) -> dict[str, str]:
    """The fields as typed (an empty select is no value)."""
    typed = {name: str(data.get(name, "")) for name in names}
    return {name: value for name, value in typed.items() if value or name not in ("region_id", "kind")}


def _page(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    token, cookie = csrf.token(request)
    done = DONE.intersection(request.query)  # what the write before the 303 did, to say so
    context = {**context, "csrf": token, "done": done}
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    csrf.set_cookie(response, cookie)
    response.headers["Cache-Control"] = "no-store"
    return response


DONE = frozenset({"saved", "added", "removed"})


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _query(request: web.Request) -> Query:
    try:
        return Query.model_validate(dict(request.query))
    except ValidationError:
        return Query()  # a mistyped page number or search: the first page of everything


def _owns(account: Account, role: Role, scope: UUID) -> bool:
    return account.is_admin or Grant(role=role, scope=scope) in account.grants


def _path_id(request: web.Request, name: str) -> UUID:
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise web.HTTPNotFound() from None


# Organisations


@requires(ANY_ACCOUNT)
async def organisations_page(request: web.Request) -> web.Response:
    account = check(request, ANY_ACCOUNT)
    query = _query(request)
    rows = await store.organisations(request.app[POOL], query.q, query.offset)
    items = [(organisation_of(row), _owns(account, Role.ORGANIZER, row["id"])) for row in rows]
    context = {"items": items, "query": query, "pages": pages(total(rows)), "is_admin": account.is_admin}
    return _page(request, "organisations.html", context)


async def _organisation_form(
    request: web.Request,
    organisation_id: UUID | None,
    typed: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    regions = await store.home_regions(request.app[POOL])
    context = {
        "organisation_id": organisation_id,
        "typed": typed,
        "errors": errors,
        "kinds": list(OrganisationKind),
        "regions": regions,
    }
    return _page(request, "organisation_form.html", context, status)


@requires(ADMIN)
async def new_organisation_page(request: web.Request) -> web.Response:
    return await _organisation_form(request, None, {"kind": OrganisationKind.NONPROFIT.value}, {})


@requires(ORGANIZER)
async def organisation_page(request: web.Request) -> web.Response:
    organisation_id = _path_id(request, "organisation_id")
    check(request, organisation(organisation_id))
    row = await store.organisation(request.app[POOL], organisation_id)
    if row is None:
        raise web.HTTPNotFound()
    found = organisation_of(row)
    typed = {"name": found.name, "kind": found.kind.value, "region_id": str(found.region_id or "")}
    return await _organisation_form(request, organisation_id, typed, {})


@requires(ADMIN)
async def create_organisation(request: web.Request) -> web.Response:
    return await _save_organisation(request, None, check(request, ADMIN))


@requires(ORGANIZER)
async def change_organisation(request: web.Request) -> web.Response:
    organisation_id = _path_id(request, "organisation_id")
    return await _save_organisation(request, organisation_id, check(request, organisation(organisation_id)))


async def _save_organisation(
    request: web.Request, organisation_id: UUID | None, account: Account
) -> web.Response:
    data = await request.post()
    typed = _form(data, "name", "kind", "region_id")
    fields, errors = _validated(request, data, OrganisationFields, typed)
    if fields is not None:
        try:
            await Writer.of(request, account).save_organisation(organisation_id, fields)
            return _see_other("/console/organisations?saved=1")
        except Refused as exc:
            field, message = refusal_message(exc.refusal)
            errors = {field: message}
    return await _organisation_form(request, organisation_id, typed, errors, 422)


def _validated(
    request: web.Request, data: Mapping[str, Any], model: type[M], typed: Mapping[str, str]
) -> tuple[M | None, dict[str, str]]:
    if not csrf.is_valid(request, data.get(csrf.FIELD)):
        return None, {"form": field_messages()["form"]}
    try:
        return model.model_validate(typed), {}
    except ValidationError as exc:
        return None, errors_of(exc)


# CoPs


@requires(ANY_ACCOUNT)
async def cops_page(request: web.Request) -> web.Response:
    account = check(request, ANY_ACCOUNT)
    query = _query(request)
    rows = await store.cops(request.app[POOL], query.q, query.offset)
    items = [(cop_of(row), _owns(account, Role.COP_LEAD, row["id"])) for row in rows]
    context = {"items": items, "query": query, "pages": pages(total(rows)), "is_admin": account.is_admin}
    return _page(request, "cops.html", context)


@requires(ADMIN)
async def new_cop_page(request: web.Request) -> web.Response:
    return _page(request, "cop_form.html", {"cop_id": None, "typed": {}, "errors": {}})


@requires(ADMIN)
async def create_cop(request: web.Request) -> web.Response:
    data = await request.post()
    typed = _form(data, "topic", "description")
    fields, errors = _validated(request, data, CopFields, typed)
    if fields is not None:
        try:
            cop_id = await Writer.of(request, check(request, ADMIN)).save_cop(None, fields)
            return _see_other(f"/console/cops/{cop_id}")
        except Refused as exc:
            field, message = refusal_message(exc.refusal)
            errors = {field: message}
    return _page(request, "cop_form.html", {"cop_id": None, "typed": typed, "errors": errors}, 422)


@requires(COP_LEAD)
async def cop_page(request: web.Request) -> web.Response:
    cop_id = _path_id(request, "cop_id")
    check(request, cop(cop_id))
    return await _cop_page(request, cop_id, typed=None, errors={})


async def _cop_page(
    request: web.Request,
    cop_id: UUID,
    *,
    typed: Mapping[str, str] | None,
    errors: Mapping[str, str],
    member_typed: Mapping[str, str] | None = None,
    member_errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    pool = request.app[POOL]
    row = await store.cop(pool, cop_id)
    if row is None:
        raise web.HTTPNotFound()
    found = cop_of(row)
    query = _query(request)
    members = await store.members(pool, cop_id, query.q, query.offset)
    context = {
        "cop": found,
        "cop_id": cop_id,
        "typed": typed if typed is not None else {"topic": found.topic, "description": found.description},
        "errors": errors,
        "members": members,
        "query": query,
        "pages": pages(total(members)),
        "requests": await store.join_requests(pool, cop_id),
        "organisations": await store.organisations(pool, "", 0),
        "member_typed": member_typed or {},
        "member_errors": member_errors or {},
    }
    return _page(request, "cop.html", context, status)


@requires(COP_LEAD)
async def change_cop(request: web.Request) -> web.Response:
    cop_id = _path_id(request, "cop_id")
    account = check(request, cop(cop_id))
    data = await request.post()
    typed = _form(data, "topic", "description")
    fields, errors = _validated(request, data, CopFields, typed)
    if fields is not None:
        try:
            await Writer.of(request, account).save_cop(cop_id, fields)
            return _see_other(f"/console/cops/{cop_id}?saved=1")
        except Refused as exc:
            field, message = refusal_message(exc.refusal)
            errors = {field: message}
    return await _cop_page(request, cop_id, typed=typed, errors=errors, status=422)


@requires(COP_LEAD)
async def add_member(request: web.Request) -> web.Response:
    """A registered person by their e-mail address, or an organisation from the list."""
    cop_id = _path_id(request, "cop_id")
    account = check(request, cop(cop_id))
    data = await request.post()
    typed = _form(data, "email", "organisation_id")
    errors: dict[str, str] = {}
    if not csrf.is_valid(request, data.get(csrf.FIELD)):
        errors = {"form": field_messages()["form"]}
    else:
        try:
            member = await _new_member(request, typed)
            await Writer.of(request, account).add_member(cop_id, member)
            return _see_other(f"/console/cops/{cop_id}?added=1#members")
        except Refused as exc:
            field, message = refusal_message(exc.refusal)
            errors = {field: message}
        except ValidationError:
            errors = {"email": field_messages()["email"]}
    return await _cop_page(
        request, cop_id, typed=None, errors={}, member_typed=typed, member_errors=errors, status=422
    )


async def _new_member(request: web.Request, typed: Mapping[str, str]) -> NewMember:
    if typed.get("organisation_id"):
        try:
            return NewMember(organisation_id=UUID(typed["organisation_id"]))
        except ValueError:
            raise Refused(Refusal.UNKNOWN_ORGANISATION) from None
    email = JoinRequest.model_validate({"name": "-", "email": typed.get("email", "")}).email
    person_id = await store.person_by_email(request.app[POOL], email)
    if person_id is None:
        raise Refused(Refusal.UNKNOWN_PERSON)
    return NewMember(person_id=person_id)


@requires(COP_LEAD)
async def remove_member(request: web.Request) -> web.Response:
    cop_id = _path_id(request, "cop_id")
    account = check(request, cop(cop_id))
    if not csrf.is_valid(request, (await request.post()).get(csrf.FIELD)):
        return await _cop_page(
            request, cop_id, typed=None, errors={"form": field_messages()["form"]}, status=422
        )
    # Removed already (a second click, another lead): the page shows the members as they are.
    with contextlib.suppress(Refused):
        await Writer.of(request, account).remove_member(cop_id, _path_id(request, "member_id"))
    return _see_other(f"/console/cops/{cop_id}?removed=1#members")


@requires(COP_LEAD)
async def dismiss_request(request: web.Request) -> web.Response:
    cop_id = _path_id(request, "cop_id")
    account = check(request, cop(cop_id))
    if not csrf.is_valid(request, (await request.post()).get(csrf.FIELD)):
        return await _cop_page(
            request, cop_id, typed=None, errors={"form": field_messages()["form"]}, status=422
        )
    with contextlib.suppress(Refused):  # dismissed already
        await Writer.of(request, account).dismiss_join_request(cop_id, _path_id(request, "request_id"))
    return _see_other(f"/console/cops/{cop_id}#requests")


# The residents' pages


async def public_cops_page(request: web.Request) -> web.Response:
    query = _query(request)
    rows = await store.cops(request.app[POOL], query.q, query.offset)
    context = {"items": [cop_of(row) for row in rows], "query": query, "pages": pages(total(rows))}
    return _page(request, "public_cops.html", context)


async def join_page(request: web.Request) -> web.Response:
    return await _join(request, _path_id(request, "cop_id"), {}, {})


async def join(request: web.Request) -> web.Response:
    """A pending request to join, and nothing else: no account, no person, no mail. Counted in
    the same per-address limit as registrations, the platform's other anonymous write."""
    cop_id = _path_id(request, "cop_id")
    data = await request.post()
    typed = _form(data, "name", "email")
    pool = request.app[POOL]
    wait = await throttle.seconds_to_wait(pool, request, request.app[SETTINGS])
    if wait is not None:
        minutes = max(1, round(wait / 60))
        message = _("Too many requests from your connection. Try again in %(minutes)s minutes.") % {
            "minutes": minutes
        }
        response = await _join(request, cop_id, typed, {"form": message}, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    fields, errors = _validated(request, data, JoinRequest, typed)
    if fields is None:
        return await _join(request, cop_id, typed, errors, 422)
    await store.ask_to_join(pool, uuid.uuid4(), cop_id, fields.name, fields.email)
    return _see_other(f"/cops/{cop_id}/join?asked=1")


async def _join(
    request: web.Request, cop_id: UUID, typed: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> web.Response:
    row = await store.cop(request.app[POOL], cop_id)
    if row is None:
        raise web.HTTPNotFound()
    context = {"cop": cop_of(row), "typed": typed, "errors": errors, "asked": "asked" in request.query}
    return _page(request, "join.html", context, status)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/organisations", organisations_page)
    app.router.add_get("/console/organisations/new", new_organisation_page)
    app.router.add_post("/console/organisations/new", create_organisation)
    app.router.add_get("/console/organisations/{organisation_id}", organisation_page)
    app.router.add_post("/console/organisations/{organisation_id}", change_organisation)
    app.router.add_get("/console/cops", cops_page)
    app.router.add_get("/console/cops/new", new_cop_page)
    app.router.add_post("/console/cops/new", create_cop)
    app.router.add_get("/console/cops/{cop_id}", cop_page)
    app.router.add_post("/console/cops/{cop_id}", change_cop)
    app.router.add_post("/console/cops/{cop_id}/members", add_member)
    app.router.add_post("/console/cops/{cop_id}/members/{member_id}/remove", remove_member)
    app.router.add_post("/console/cops/{cop_id}/requests/{request_id}/dismiss", dismiss_request)
    app.router.add_get("/cops/", public_cops_page)
    app.router.add_get("/cops/{cop_id}/join", join_page)
    app.router.add_post("/cops/{cop_id}/join", join)
