"""The console's campaign pages: the list, a new draft, and a campaign's own page (its audience's
size and reach, its form while a draft, the button that launches or closes it). Forms without
JavaScript, as the CoP pages: an error beside its field with what was typed kept, a write
answered 303, an expired form (CSRF) 422 with the form again."""

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from aiohttp import web
from multidict import MultiMapping
from pydantic import ValidationError

from services.engagement.campaigns import store
from services.engagement.campaigns.api import campaign_of, own_organisations, reach_of
from services.engagement.campaigns.changes import Refusal, Refused, Writer
from services.engagement.campaigns.models import Campaign, CampaignFields, Step, editable, pages
from services.engagement.community.api import ORGANIZER, total
from services.engagement.community.pages import _page, _path_id, _query, _see_other
from shared import csrf
from shared.auth import Account, check, organisation, requires
from shared.demographics import CATALOGUE
from shared.http import POOL
from shared.i18n import gettext_ as _

# Typed one per line or separated by commas: ZIP codes, tags and the ids of what is linked.
LISTED = ("zip_codes", "tags", "survey_ids", "meeting_ids", "decision_ids")
CHOSEN = ("region_ids", "cop_ids", "import_ids")  # ticked in a list
STEPPED = frozenset({"launched", "closed"})


def field_messages() -> dict[str, str]:
    return {
        "organisation_id": _("Choose one of your organisations."),
        "title": _("Enter a title of up to 200 characters, on one line."),
        "goal": _("Up to 2000 characters, without control characters."),
        "region_ids": _("Choose regions from the list."),
        "zip_codes": _("Enter five-digit ZIP codes, separated by commas, each once."),
        "cop_ids": _("Choose CoPs from the list."),
        "import_ids": _("Choose imported lists from the list."),
        "tags": _("Enter tags of up to 40 characters, separated by commas, each once."),
        "survey_ids": _("Enter survey ids, separated by commas, each once."),
        "meeting_ids": _("Enter meeting ids, separated by commas, each once."),
        "decision_ids": _("Enter decision ids, separated by commas, each once."),
        "form": _("This form had expired. Send it again."),
    }


def refusal_message(refusal: Refusal) -> tuple[str, str]:
    if refusal is Refusal.NOT_YOURS:
        raise web.HTTPForbidden()
    if refusal is Refusal.NOT_FOUND:
        raise web.HTTPNotFound()
    field = {
        Refusal.UNKNOWN_ORGANISATION: "organisation_id",
        Refusal.UNKNOWN_REGION: "region_ids",
        Refusal.UNKNOWN_COP: "cop_ids",
        Refusal.UNKNOWN_IMPORT: "import_ids",
    }.get(refusal, "form")
    messages = {
        Refusal.NOT_A_DRAFT: _("This campaign has been launched: only a draft can be changed or launched."),
        Refusal.NOT_LAUNCHED: _("Only a launched campaign can be closed."),
    }
    return field, messages.get(refusal, field_messages()[field])


def typed_of(data: MultiMapping[Any]) -> dict[str, Any]:
    """The form as typed: text as it was, ticked lists as the values ticked."""
    typed: dict[str, Any] = {name: str(data.get(name, "")) for name in ("organisation_id", "title", "goal")}
    typed.update({name: str(data.get(name, "")) for name in LISTED})
    typed.update({name: [str(value) for value in data.getall(name, [])] for name in CHOSEN})
    return typed


def typed_from(found: Campaign) -> dict[str, Any]:
    """A saved campaign as its form shows it."""
    audience = found.audience
    return {
        "organisation_id": str(found.organisation_id),
        "title": found.title,
        "goal": found.goal,
        "zip_codes": ", ".join(audience.zip_codes),
        "tags": ", ".join(audience.tags),
        **{name: ", ".join(str(i) for i in getattr(found, name)) for name in LISTED[2:]},
        "region_ids": [str(i) for i in audience.region_ids],
        "cop_ids": [str(i) for i in audience.cop_ids],
        "import_ids": [str(i) for i in audience.import_ids],
    }


def _items(text: str, separators: str = r"[\s,;]+") -> list[str]:
    return [item.strip() for item in re.split(separators, text) if item.strip()]


def fields_of(typed: Mapping[str, Any]) -> CampaignFields:
    audience = {
        "region_ids": typed["region_ids"],
        "cop_ids": typed["cop_ids"],
        "import_ids": typed["import_ids"],
        "zip_codes": _items(typed["zip_codes"]),
        "tags": _items(typed["tags"], r"[,;]"),  # a tag may hold spaces: "youth council"
    }
    linked = {name: _items(typed[name]) for name in LISTED[2:]}
    return CampaignFields.model_validate(
        {
            "organisation_id": typed["organisation_id"] or None,
            "title": typed["title"],
            "goal": typed["goal"],
            "audience": audience,
            **linked,
        }
    )


def errors_of(exc: ValidationError) -> dict[str, str]:
    """Each refused field's message, by the form's field: ``audience.zip_codes.2`` is zip_codes."""
    messages = field_messages()
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        field = loc[1] if loc[:1] == ["audience"] and len(loc) > 1 else (loc[0] if loc else "form")
        errors.setdefault(field, messages.get(field, messages["form"]))
    return errors


def validated(
    request: web.Request, data: MultiMapping[Any], typed: Mapping[str, Any]
) -> tuple[CampaignFields | None, dict[str, str]]:
    if not csrf.is_valid(request, data.get(csrf.FIELD)):
        return None, {"form": field_messages()["form"]}
    try:
        return fields_of(typed), {}
    except ValidationError as exc:
        return None, errors_of(exc)


async def _choices(request: web.Request, account: Account) -> dict[str, Any]:
    pool = request.app[POOL]
    return {
        "organisations": await store.choosable_organisations(pool, own_organisations(account)),
        "regions": await store.choosable_regions(pool),
        "cops": await store.choosable_cops(pool),
        "imports": await store.choosable_imports(pool),
    }


@requires(ORGANIZER)
async def campaigns_page(request: web.Request) -> web.Response:
    account = check(request, ORGANIZER)
    query = _query(request)
    rows = await store.campaigns(request.app[POOL], query.q, query.offset, own_organisations(account))
    context = {"items": [campaign_of(row) for row in rows], "query": query, "pages": pages(total(rows))}
    return _page(request, "campaigns.html", context)


async def _new_form(
    request: web.Request,
    account: Account,
    typed: Mapping[str, Any],
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    context = {"typed": typed, "errors": errors, **await _choices(request, account)}
    return _page(request, "campaign_form.html", context, status)


@requires(ORGANIZER)
async def new_campaign_page(request: web.Request) -> web.Response:
    return await _new_form(request, check(request, ORGANIZER), {name: [] for name in CHOSEN}, {})


async def _save(
    request: web.Request, account: Account, campaign_id: UUID | None
) -> tuple[web.Response | None, dict[str, Any], dict[str, str]]:
    """Save the form (a new draft without an id): the 303 to its page, or what was typed and
    the errors to show beside it. Saving for an organisation not the account's is a 403."""
    data = await request.post()
    typed = typed_of(data)
    fields, errors = validated(request, data, typed)
    if fields is not None:
        check(request, organisation(fields.organisation_id))
        try:
            saved = await Writer.of(request, account).save(campaign_id, fields)
            return _see_other(f"/console/campaigns/{saved}?saved=1"), typed, {}
        except Refused as exc:
            field, message = refusal_message(exc.refusal)
            errors = {field: message}
    return None, typed, errors


@requires(ORGANIZER)
async def create_campaign(request: web.Request) -> web.Response:
    account = check(request, ORGANIZER)
    saved, typed, errors = await _save(request, account, None)
    return saved or await _new_form(request, account, typed, errors, 422)


async def _owned(request: web.Request) -> tuple[UUID, Account, Campaign]:
    """The campaign the path names and the account, once it is the account's (else 404, 403)."""
    campaign_id = _path_id(request, "campaign_id")
    row = await store.campaign(request.app[POOL], campaign_id)
    if row is None:
        raise web.HTTPNotFound()
    found = campaign_of(row)
    return campaign_id, check(request, organisation(found.organisation_id)), found


async def _campaign_page(
    request: web.Request,
    typed: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    campaign_id, account, found = await _owned(request)
    context = {
        "campaign": found,
        "campaign_id": campaign_id,
        "editable": editable(found.status),
        "reach": await reach_of(request.app[POOL], campaign_id, found.audience),
        "catalogue": CATALOGUE,
        "typed": typed if typed is not None else typed_from(found),
        "errors": errors or {},
        # What the launch or close before the 303 did, to say so.
        "stepped": STEPPED.intersection(request.query),
        **await _choices(request, account),
    }
    return _page(request, "campaign.html", context, status)


@requires(ORGANIZER)
async def campaign_page(request: web.Request) -> web.Response:
    return await _campaign_page(request)


@requires(ORGANIZER)
async def change_campaign(request: web.Request) -> web.Response:
    campaign_id, account, _found = await _owned(request)
    saved, typed, errors = await _save(request, account, campaign_id)
    return saved or await _campaign_page(request, typed, errors, 422)


async def _take(request: web.Request, step: Step, done: str) -> web.Response:
    campaign_id, account, _found = await _owned(request)
    if not csrf.is_valid(request, (await request.post()).get(csrf.FIELD)):
        return await _campaign_page(request, errors={"form": field_messages()["form"]}, status=422)
    try:
        await Writer.of(request, account).take(campaign_id, step)
    except Refused as exc:
        _field, message = refusal_message(exc.refusal)
        return await _campaign_page(request, errors={"form": message}, status=409)
    return _see_other(f"/console/campaigns/{campaign_id}?{done}=1")


@requires(ORGANIZER)
async def launch_campaign(request: web.Request) -> web.Response:
    return await _take(request, Step.LAUNCH, "launched")


@requires(ORGANIZER)
async def close_campaign(request: web.Request) -> web.Response:
    return await _take(request, Step.CLOSE, "closed")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/campaigns", campaigns_page)
    app.router.add_get("/console/campaigns/new", new_campaign_page)
    app.router.add_post("/console/campaigns/new", create_campaign)
    app.router.add_get("/console/campaigns/{campaign_id}", campaign_page)
    app.router.add_post("/console/campaigns/{campaign_id}", change_campaign)
    app.router.add_post("/console/campaigns/{campaign_id}/launch", launch_campaign)
    app.router.add_post("/console/campaigns/{campaign_id}/close", close_campaign)
