"""The organisations and CoPs JSON API. Admins create both; an organizer changes their own
organisation, a CoP's lead their own CoP and its members (shared/auth.py: the route needs the
role, the handler checks it is held over the thing the path names before reading anything)."""

from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.engagement.community import store
from services.engagement.community.changes import Refused, Writer
from services.engagement.community.models import (
    Cop,
    CopFields,
    CopList,
    Member,
    MemberList,
    NewMember,
    Organisation,
    OrganisationFields,
    OrganisationList,
    Query,
    pages,
)
from shared.auth import ADMIN, ANY_ACCOUNT, Need, Role, check, cop, organisation, requires
from shared.http import POOL
from shared.openapi import Operation
from shared.problems import Problem, parse_json, validation_problem

ORGANIZER = Need(Role.ORGANIZER)
COP_LEAD = Need(Role.COP_LEAD)


def path_id(request: web.Request, name: str) -> UUID:
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise Problem(404, "Not found", f"no such {name.removesuffix('_id')}") from None


def query_of(request: web.Request) -> Query:
    try:
        return Query.model_validate(dict(request.query))
    except ValidationError as exc:
        raise validation_problem(exc) from exc


def organisation_of(row: asyncpg.Record) -> Organisation:
    return Organisation.model_validate(dict(row))


def cop_of(row: asyncpg.Record) -> Cop:
    return Cop.model_validate(dict(row))


def total(rows: list[asyncpg.Record]) -> int:
    return int(rows[0]["total"]) if rows else 0


def refused(exc: Refused) -> Problem:
    refusal = exc.refusal
    detail = refusal.name.lower().replace("_", " ")
    if refusal.field is None:
        return Problem(refusal.status, detail.capitalize(), detail)
    errors = [{"field": refusal.field, "message": detail}]
    return Problem(refusal.status, "Refused", f"{refusal.field}: {detail}", errors=errors)


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(text=model.model_dump_json(), status=status, content_type="application/json")


@requires(ANY_ACCOUNT)
async def list_organisations(request: web.Request) -> web.Response:
    query = query_of(request)
    rows = await store.organisations(request.app[POOL], query.q, query.offset)
    items = [organisation_of(row) for row in rows]
    return _json(OrganisationList(items=items, page=query.page, pages=pages(total(rows))))


@requires(ADMIN)
async def create_organisation(request: web.Request) -> web.Response:
    writer = Writer.of(request, check(request, ADMIN))
    fields = await parse_json(request, OrganisationFields)
    try:
        saved = await writer.save_organisation(None, fields)
    except Refused as exc:
        raise refused(exc) from exc
    return await _organisation(request, saved, status=201)


@requires(ANY_ACCOUNT)
async def get_organisation(request: web.Request) -> web.Response:
    return await _organisation(request, path_id(request, "organisation_id"))


@requires(ORGANIZER)
async def change_organisation(request: web.Request) -> web.Response:
    organisation_id = path_id(request, "organisation_id")
    writer = Writer.of(request, check(request, organisation(organisation_id)))
    fields = await parse_json(request, OrganisationFields)
    try:
        await writer.save_organisation(organisation_id, fields)
    except Refused as exc:
        raise refused(exc) from exc
    return await _organisation(request, organisation_id)


async def _organisation(request: web.Request, organisation_id: UUID, status: int = 200) -> web.Response:
    row = await store.organisation(request.app[POOL], organisation_id)
    if row is None:
        raise Problem(404, "Not found", "no such organisation")
    response = _json(organisation_of(row), status)
    response.headers["Location"] = f"/api/v1/organisations/{organisation_id}"
    return response


@requires(ANY_ACCOUNT)
async def list_cops(request: web.Request) -> web.Response:
    query = query_of(request)
    rows = await store.cops(request.app[POOL], query.q, query.offset)
    return _json(CopList(items=[cop_of(row) for row in rows], page=query.page, pages=pages(total(rows))))


@requires(ADMIN)
async def create_cop(request: web.Request) -> web.Response:
    writer = Writer.of(request, check(request, ADMIN))
    fields = await parse_json(request, CopFields)
    try:
        saved = await writer.save_cop(None, fields)
    except Refused as exc:
        raise refused(exc) from exc
    return await _cop(request, saved, status=201)


@requires(ANY_ACCOUNT)
async def get_cop(request: web.Request) -> web.Response:
    return await _cop(request, path_id(request, "cop_id"))


@requires(COP_LEAD)
async def change_cop(request: web.Request) -> web.Response:
    cop_id = path_id(request, "cop_id")
    writer = Writer.of(request, check(request, cop(cop_id)))
    fields = await parse_json(request, CopFields)
    try:
        await writer.save_cop(cop_id, fields)
    except Refused as exc:
        raise refused(exc) from exc
    return await _cop(request, cop_id)


async def _cop(request: web.Request, cop_id: UUID, status: int = 200) -> web.Response:
    row = await store.cop(request.app[POOL], cop_id)
    if row is None:
        raise Problem(404, "Not found", "no such CoP")
    response = _json(cop_of(row), status)
    response.headers["Location"] = f"/api/v1/cops/{cop_id}"
    return response


@requires(COP_LEAD)
async def list_members(request: web.Request) -> web.Response:
    """Members' names are personal data: the CoP's lead and admins only."""
    cop_id = path_id(request, "cop_id")
    check(request, cop(cop_id))
    query = query_of(request)
    pool = request.app[POOL]
    if await store.cop(pool, cop_id) is None:
        raise Problem(404, "Not found", "no such CoP")
    rows = await store.members(pool, cop_id, query.q, query.offset)
    items = [Member.model_validate(dict(row)) for row in rows]
    return _json(MemberList(items=items, page=query.page, pages=pages(total(rows))))


@requires(COP_LEAD)
async def add_member(request: web.Request) -> web.Response:
    cop_id = path_id(request, "cop_id")
    writer = Writer.of(request, check(request, cop(cop_id)))
    member = await parse_json(request, NewMember)
    try:
        member_id = await writer.add_member(cop_id, member)
    except Refused as exc:
        raise refused(exc) from exc
    row = await store.member(request.app[POOL], cop_id, member_id)
    assert row is not None  # added a moment ago; a removal since would be a 404 on the next read
    response = _json(Member.model_validate(dict(row)), 201)
    response.headers["Location"] = f"/api/v1/cops/{cop_id}/members/{member_id}"
    return response


@requires(COP_LEAD)
async def remove_member(request: web.Request) -> web.Response:
    cop_id = path_id(request, "cop_id")
    writer = Writer.of(request, check(request, cop(cop_id)))
    try:
        await writer.remove_member(cop_id, path_id(request, "member_id"))
    except Refused as exc:
        raise refused(exc) from exc
    return web.Response(status=204)


ORGANISATIONS = "/api/v1/organisations"
ORGANISATION = ORGANISATIONS + "/{organisation_id}"
COPS = "/api/v1/cops"
COP = COPS + "/{cop_id}"
MEMBERS = COP + "/members"
MEMBER = MEMBERS + "/{member_id}"

OPERATIONS = (
    Operation(
        "GET",
        ORGANISATIONS,
        "Organisations, searched by name (?q=) a page at a time (?page=)",
        response=OrganisationList,
        problems=(422,),
        need=ANY_ACCOUNT,
    ),
    Operation(
        "POST",
        ORGANISATIONS,
        "Create an organisation (admins only)",
        request=OrganisationFields,
        response=Organisation,
        status=201,
        problems=(409,),
        need=ADMIN,
    ),
    Operation(
        "GET", ORGANISATION, "One organisation", response=Organisation, problems=(404,), need=ANY_ACCOUNT
    ),
    Operation(
        "PUT",
        ORGANISATION,
        "Change an organisation (its organizers and admins)",
        request=OrganisationFields,
        response=Organisation,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "GET",
        COPS,
        "Communities of Practice, searched by topic (?q=) a page at a time (?page=)",
        response=CopList,
        problems=(422,),
        need=ANY_ACCOUNT,
    ),
    Operation(
        "POST",
        COPS,
        "Create a CoP (admins only)",
        request=CopFields,
        response=Cop,
        status=201,
        problems=(409,),
        need=ADMIN,
    ),
    Operation("GET", COP, "One CoP", response=Cop, problems=(404,), need=ANY_ACCOUNT),
    Operation(
        "PUT",
        COP,
        "Change a CoP (its leads and admins)",
        request=CopFields,
        response=Cop,
        problems=(404, 409),
        need=COP_LEAD,
    ),
    Operation(
        "GET",
        MEMBERS,
        "A CoP's members, people and organisations (its leads and admins)",
        response=MemberList,
        problems=(404, 422),
        need=COP_LEAD,
    ),
    Operation(
        "POST",
        MEMBERS,
        "Add a registered person or an organisation to a CoP (its leads and admins)",
        request=NewMember,
        response=Member,
        status=201,
        problems=(404, 409),
        need=COP_LEAD,
    ),
    Operation(
        "DELETE",
        MEMBER,
        "Remove a member from a CoP (its leads and admins)",
        status=204,
        problems=(404,),
        need=COP_LEAD,
    ),
)


def add_routes(app: web.Application) -> None:
    app.router.add_get(ORGANISATIONS, list_organisations)
    app.router.add_post(ORGANISATIONS, create_organisation)
    app.router.add_get(ORGANISATION, get_organisation)
    app.router.add_put(ORGANISATION, change_organisation)
    app.router.add_get(COPS, list_cops)
    app.router.add_post(COPS, create_cop)
    app.router.add_get(COP, get_cop)
    app.router.add_put(COP, change_cop)
    app.router.add_get(MEMBERS, list_members)
    app.router.add_post(MEMBERS, add_member)
    app.router.add_delete(MEMBER, remove_member)
