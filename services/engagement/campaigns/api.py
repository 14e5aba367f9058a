"""The campaigns JSON API. An organizer works on the campaigns of their own organisations, an
admin on all (shared/auth.py: the route needs the organizer role; the handler checks it is held
over the campaign's organisation, and over the one a body names, before writing anything)."""

import json
from uuid import UUID

import asyncpg
from aiohttp import web

from services.engagement.campaigns import responses, store
from services.engagement.campaigns.changes import Refused, Writer
from services.engagement.campaigns.contacted import contacted
from services.engagement.campaigns.models import (
    Audience,
    AudienceSize,
    Campaign,
    CampaignFields,
    CampaignList,
    Step,
    pages,
)
from services.engagement.campaigns.reach import Reach, RegionCount, reach
from services.engagement.community.api import ORGANIZER, _json, path_id, query_of, total
from shared.auth import Account, Role, check, organisation, requires
from shared.http import POOL
from shared.openapi import Operation
from shared.problems import Problem, parse_json, refusal


def campaign_of(row: asyncpg.Record) -> Campaign:
    return Campaign.model_validate({**dict(row), "audience": json.loads(row["audience"])})


def refused(exc: Refused) -> Problem:
    field, status, detail = exc.refusal.value
    return refusal(status, detail, field)


def own_organisations(account: Account) -> list[UUID] | None:
    """The organisations whose campaigns the account works on; None: every one (an admin)."""
    if account.is_admin:
        return None
    return [grant.scope for grant in account.grants if grant.role is Role.ORGANIZER and grant.scope]


async def campaign_for(
    request: web.Request, pool: asyncpg.Pool, campaign_id: UUID
) -> tuple[Account, Campaign]:
    """The campaign and the account, once it is known to be the account's; else 404 or 403."""
    row = await store.campaign(pool, campaign_id)
    if row is None:
        raise Problem(404, "Not found", "no such campaign")
    found = campaign_of(row)
    return check(request, organisation(found.organisation_id)), found


async def reach_of(pool: asyncpg.Pool, campaign_id: UUID, audience: Audience) -> Reach:
    size = AudienceSize.model_validate(dict(await store.audience_size(pool, audience)))
    by_region = await responses.responded_by_region(pool, campaign_id, audience.region_ids)
    counts = [
        RegionCount.model_validate({**dict(row), "responded": by_region.get(row["region_id"], 0)})
        for row in await store.region_counts(pool, audience)
    ]
    meetings = await store.meeting_reach(pool, campaign_id, audience)
    return reach(
        size,
        counts,
        responded=await responses.responded(pool, campaign_id),
        responded_bands=await responses.responded_by_band(pool, campaign_id),
        population=await responses.population(pool, audience),
        registered=meetings["registered"],
        attended=meetings["attended"],
        contacted=await contacted(pool, campaign_id),
    )


@requires(ORGANIZER)
async def list_campaigns(request: web.Request) -> web.Response:
    account = check(request, ORGANIZER)
    query = query_of(request)
    rows = await store.campaigns(request.app[POOL], query.q, query.offset, own_organisations(account))
    items = [campaign_of(row) for row in rows]
    return _json(CampaignList(items=items, page=query.page, pages=pages(total(rows))))


@requires(ORGANIZER)
async def create_campaign(request: web.Request) -> web.Response:
    fields = await parse_json(request, CampaignFields)
    writer = Writer.of(request, check(request, organisation(fields.organisation_id)))
    try:
        saved = await writer.save(None, fields)
    except Refused as exc:
        raise refused(exc) from exc
    return await _campaign(request, saved, status=201)


@requires(ORGANIZER)
async def get_campaign(request: web.Request) -> web.Response:
    campaign_id = path_id(request, "campaign_id")
    await campaign_for(request, request.app[POOL], campaign_id)
    return await _campaign(request, campaign_id)


@requires(ORGANIZER)
async def change_campaign(request: web.Request) -> web.Response:
    """A draft only; moving it to another organisation needs the account to hold that one too."""
    campaign_id = path_id(request, "campaign_id")
    account, _ = await campaign_for(request, request.app[POOL], campaign_id)
    fields = await parse_json(request, CampaignFields)
    check(request, organisation(fields.organisation_id))
    try:
        await Writer.of(request, account).save(campaign_id, fields)
    except Refused as exc:
        raise refused(exc) from exc
    return await _campaign(request, campaign_id)


async def _step(request: web.Request, step: Step) -> web.Response:
    campaign_id = path_id(request, "campaign_id")
    account, _ = await campaign_for(request, request.app[POOL], campaign_id)
    try:
        await Writer.of(request, account).take(campaign_id, step)
    except Refused as exc:
        raise refused(exc) from exc
    return await _campaign(request, campaign_id)


@requires(ORGANIZER)
async def launch_campaign(request: web.Request) -> web.Response:
    return await _step(request, Step.LAUNCH)


@requires(ORGANIZER)
async def close_campaign(request: web.Request) -> web.Response:
    return await _step(request, Step.CLOSE)


@requires(ORGANIZER)
async def campaign_reach(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    campaign_id = path_id(request, "campaign_id")
    _, found = await campaign_for(request, pool, campaign_id)
    return _json(await reach_of(pool, campaign_id, found.audience))


async def _campaign(request: web.Request, campaign_id: UUID, status: int = 200) -> web.Response:
    row = await store.campaign(request.app[POOL], campaign_id)
    if row is None:
        raise Problem(404, "Not found", "no such campaign")
    response = _json(campaign_of(row), status)
    response.headers["Location"] = f"{CAMPAIGNS}/{campaign_id}"
    return response


CAMPAIGNS = "/api/v1/campaigns"
CAMPAIGN = CAMPAIGNS + "/{campaign_id}"

OPERATIONS = (
    Operation(
        "GET",
        CAMPAIGNS,
        "Your organisations' campaigns (all, for admins), searched by title (?q=) a page at a time (?page=)",
        response=CampaignList,
        problems=(422,),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        CAMPAIGNS,
        "Create a draft campaign for one of your organisations",
        request=CampaignFields,
        response=Campaign,
        status=201,
        need=ORGANIZER,
    ),
    Operation("GET", CAMPAIGN, "One campaign", response=Campaign, problems=(404,), need=ORGANIZER),
    Operation(
        "PUT",
        CAMPAIGN,
        "Change a draft campaign (409 once launched)",
        request=CampaignFields,
        response=Campaign,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        CAMPAIGN + "/launch",
        "Launch a draft: its audience is fixed and campaign.launched announced",
        response=Campaign,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        CAMPAIGN + "/close",
        "Close a launched campaign",
        response=Campaign,
        problems=(404, 409),
        need=ORGANIZER,
    ),
    Operation(
        "GET",
        CAMPAIGN + "/reach",
        "The audience's size and its spread across the campaign's regions against their households; "
        "the responses to its surveys, by region and against the audience's population per dimension",
        response=Reach,
        problems=(404,),
        need=ORGANIZER,
    ),
)


def add_routes(app: web.Application) -> None:
    app.router.add_get(CAMPAIGNS, list_campaigns)
    app.router.add_post(CAMPAIGNS, create_campaign)
    app.router.add_get(CAMPAIGN, get_campaign)
    app.router.add_put(CAMPAIGN, change_campaign)
    app.router.add_post(CAMPAIGN + "/launch", launch_campaign)
    app.router.add_post(CAMPAIGN + "/close", close_campaign)
    app.router.add_get(CAMPAIGN + "/reach", campaign_reach)
