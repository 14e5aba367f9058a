"""The decisions' pages: public (the list by region and stage, a decision's own page) and the
organizer console's (propose one; on its page edit its details until the outcome, move it on,
link and close consultations, write the assessment, record the outcome). Forms without
JavaScript, as the other console pages: an error beside its field with what was typed kept
(422), a refusal beside the form (409), a write answered 303, an expired form (CSRF) 422 with
the form again."""

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.engagement.campaigns.api import own_organisations
from services.engagement.campaigns.store import choosable_organisations
from services.engagement.community.api import ORGANIZER, total
from services.engagement.community.pages import _page, _query, _see_other
from services.engagement.decisions import competition_pages, store
from services.engagement.decisions.api import DecisionQuery
from services.engagement.decisions.changes import Refused, Writer
from services.engagement.decisions.forms import (
    NAMES,
    Write,
    _lines,
    _owned,
    _parts,
    _record,
    _step,
    errors_of,
    field_messages,
    typed_of,
)
from services.engagement.decisions.models import (
    EDITABLE,
    PAGE_SIZE,
    Assessment,
    Body,
    Closing,
    ConsultationLink,
    Correction,
    Decision,
    DecisionFields,
    Method,
    Outcome,
    Recording,
    Stage,
    Vote,
    consults,
    next_stage,
)
from services.engagement.decisions.views import DecisionRecord, decision_of
from shared import csrf
from shared.auth import Account, check, organisation, requires
from shared.http import POOL

# Public pages


async def decisions_page(request: web.Request) -> web.Response:
    try:
        query = DecisionQuery.model_validate(dict(request.query))
    except ValidationError:
        query = DecisionQuery()
    pool = request.app[POOL]
    rows = await store.decisions(pool, query.q, query.offset, region_id=query.region_id, stage=query.stage)
    context = {
        "items": [decision_of(row) for row in rows],
        "query": query,
        "pages": max(1, -(-total(rows) // PAGE_SIZE)),
        "regions": await store.choosable_regions(pool),
        "chosen": {
            "region_id": str(query.region_id or ""),
            "stage": query.stage.value if query.stage else "",
        },
        **NAMES,
    }
    return _page(request, "decisions_public.html", context)


def _timeline(record: DecisionRecord) -> dict[str, Any]:
    return {"record": record, "entered_at": {s.stage.value: s.entered_at for s in record.stages}, **NAMES}


async def decision_page(request: web.Request) -> web.Response:
    return _page(request, "decision_public.html", _timeline(await _record(request)))


# Console pages


async def _choices(request: web.Request, account: Account) -> dict[str, Any]:
    pool = request.app[POOL]
    return {
        "organisations": await choosable_organisations(pool, own_organisations(account)),
        "regions": await store.choosable_regions(pool),
        "bodies": list(Body),
        "methods": list(Method),
        **NAMES,
    }


@requires(ORGANIZER)
async def console_decisions(request: web.Request) -> web.Response:
    account = check(request, ORGANIZER)
    query = _query(request)
    rows = await store.decisions(
        request.app[POOL], query.q, query.offset, organisations=own_organisations(account)
    )
    context = {
        "items": [decision_of(row) for row in rows],
        "query": query,
        "pages": max(1, -(-total(rows) // PAGE_SIZE)),
    }
    return _page(request, "decisions.html", {**context, **NAMES})


async def _new_form(
    request: web.Request,
    account: Account,
    typed: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    return _page(
        request,
        "decision_form.html",
        {"typed": typed, "errors": errors, **await _choices(request, account)},
        status,
    )


@requires(ORGANIZER)
async def new_decision_page(request: web.Request) -> web.Response:
    return await _new_form(
        request, check(request, ORGANIZER), {"body": "city_council", "method": "majority"}, {}
    )


def fields_of(typed: Mapping[str, str]) -> DecisionFields:
    return DecisionFields.model_validate(
        {
            "organisation_id": typed.get("organisation_id") or None,
            "region_id": typed.get("region_id") or None,
            "title": typed.get("title", ""),
            "site": typed.get("site", ""),
            "description": typed.get("description", ""),
            "document_links": _lines(typed.get("document_links", "")),
            "body": typed.get("body") or None,
            "method": typed.get("method") or None,
            "members": [
                _parts(line, r"\s*,\s*", ("name", "seat")) for line in _lines(typed.get("members", ""))
            ],
        }
    )


@requires(ORGANIZER)
async def create_decision(request: web.Request) -> web.Response:
    account = check(request, ORGANIZER)
    data = await request.post()
    typed = typed_of(data)
    if not csrf.is_valid(request, data.get(csrf.FIELD)):
        return await _new_form(request, account, typed, {"form": field_messages()["form"]}, 422)
    try:
        fields = fields_of(typed)
    except ValidationError as exc:
        # The rule across body, method and members is told beside the method.
        errors = errors_of(exc, frozenset(DecisionFields.model_fields), across="method")
        return await _new_form(request, account, typed, errors, 422)
    writer = Writer.of(request, check(request, organisation(fields.organisation_id)))
    try:
        decision_id = await writer.create(fields)
    except Refused as exc:
        return await _new_form(request, account, typed, {exc.field or "form": exc.detail}, exc.status)
    return _see_other(f"/console/decisions/{decision_id}?saved=1")


def details_of(decision: Decision) -> dict[str, str]:
    """A decision's details as its form shows them (fields_of reads them back)."""
    return {
        "organisation_id": str(decision.organisation_id),
        "region_id": str(decision.region_id),
        "title": decision.title,
        "site": decision.site,
        "description": decision.description,
        "document_links": "\n".join(decision.document_links),
        "body": decision.body.value,
        "method": decision.method.value,
        "members": "\n".join(f"{m.name}, {m.seat}" if m.seat else m.name for m in decision.members),
    }


async def _console_page(
    request: web.Request,
    typed: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    record, account = await _owned(request)
    decision = record.decision
    # The details' form shows what was typed when it was the form sent, else the details now.
    editing = request.method == "POST" and request.path.endswith("/details")
    context = {
        **_timeline(record),
        **await _choices(request, account),
        "typed": typed or {},
        "errors": errors or {},
        "editable": decision.stage in EDITABLE,
        "details": (typed or {}) if editing else details_of(decision),
        "unchanged": "unchanged" in request.query,
        "next": next_stage(decision.stage),
        "consults": consults(decision.stage),
        "deliberating": decision.stage is Stage.DELIBERATION,
        "assessable": decision.outcome is None,
        "outcomes": list(Outcome),
        "votes_choice": list(Vote),
    }
    return _page(request, "decision.html", context, status)


@requires(ORGANIZER)
async def console_decision(request: web.Request) -> web.Response:
    return await _console_page(request)


async def _edit(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> str | None:
    return None if await writer.edit(decision_id, fields_of(typed)) else "unchanged"


async def _move(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> None:
    class Move(BaseModel):
        to: Stage

    await writer.move_on(decision_id, Move.model_validate(typed).to)


async def _link(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> None:
    await writer.link(
        decision_id, ConsultationLink.model_validate({k: typed.get(k) for k in ("kind", "target_id")})
    )


async def _close(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> None:
    link = ConsultationLink.model_validate({k: typed.get(k) for k in ("kind", "target_id")})
    await writer.close(
        decision_id, link, Closing.model_validate({"what_we_heard": typed.get("what_we_heard", "")})
    )


async def _assess(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> None:
    groups = [
        _parts(line, r"\s*\|\s*", ("group", "benefits", "burdens"))
        for line in _lines(typed.get("groups", ""))
    ]
    names = ("who_pays", "who_benefits", "who_decides", "mitigations", "narrative")
    await writer.assess(
        decision_id, Assessment.model_validate({**{n: typed.get(n, "") for n in names}, "groups": groups})
    )


async def _record_outcome(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> None:
    """Votes are the fields vote_<position> and reason_<position>; how input was used,
    how_used_<kind>_<id>; a tie at a competition's cut broken by the vote, tie_break_<id>."""
    votes = [
        {
            "member": int(name.removeprefix("vote_")),
            "vote": value,
            "reason": typed.get(f"reason_{name[5:]}", ""),
        }
        for name, value in typed.items()
        if re.fullmatch(r"vote_[0-9]{1,3}", name)
    ]
    used = [
        {"kind": name.split("_")[2], "target_id": name.split("_", 3)[3], "how_used": value}
        for name, value in typed.items()
        if re.fullmatch(r"how_used_(survey|meeting)_[0-9a-f-]{36}", name)
    ]
    ballot = {"question": typed.get("question", ""), "approves": typed.get("approves", "")}
    # A competition's tie at the cut: the fields tie_break_<application id> the vote designates.
    tie_break = [
        name.removeprefix("tie_break_") for name in typed if re.fullmatch(r"tie_break_[0-9a-f-]{36}", name)
    ]
    recording = Recording.model_validate(
        {
            "outcome": typed.get("outcome") or None,
            "ballot": ballot if "question" in typed else None,
            "votes": votes,
            "rationale": typed.get("rationale", ""),
            "input_used": used,
            "tie_break": tie_break,
        }
    )
    await writer.record(decision_id, recording)


async def _correct(writer: Writer, decision_id: UUID, typed: Mapping[str, str]) -> None:
    names = ("corrects", "why", "correction")
    await writer.correct(decision_id, Correction.model_validate({n: typed.get(n) or None for n in names}))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/decisions", decisions_page)
    app.router.add_get("/decisions/{decision_id}", decision_page)
    app.router.add_get("/console/decisions", console_decisions)
    app.router.add_get("/console/decisions/new", new_decision_page)
    app.router.add_post("/console/decisions/new", create_decision)
    app.router.add_get("/console/decisions/{decision_id}", console_decision)
    steps: dict[str, tuple[frozenset[str], Write]] = {
        "stage": (frozenset({"to"}), _move),
        "consultations": (frozenset({"kind", "target_id"}), _link),
        "close": (frozenset({"kind", "target_id", "what_we_heard"}), _close),
        "assessment": (frozenset(Assessment.model_fields), _assess),
        "outcome": (frozenset(Recording.model_fields) | {"question", "approves"}, _record_outcome),
        "corrections": (frozenset(Correction.model_fields), _correct),
    }
    for path, (fields, write) in steps.items():
        app.router.add_post(f"/console/decisions/{{decision_id}}/{path}", _step(fields, write, _console_page))
    # The rule across body, method and members is told beside the method, as when proposing.
    details = _step(frozenset(DecisionFields.model_fields), _edit, _console_page, across="method")
    app.router.add_post("/console/decisions/{decision_id}/details", details)
    competition_pages.add_routes(app)
