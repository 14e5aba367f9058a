"""What the decisions' console forms share: the names pages show, the messages beside each
field, reading a form (lines, parts of a line, what was typed), the decision in the path
(found, the account's), and a form's handler (``_step``)."""

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID

from aiohttp import web
from multidict import MultiMapping
from pydantic import ValidationError

from services.engagement.community.api import ORGANIZER
from services.engagement.community.pages import _path_id, _see_other
from services.engagement.decisions.changes import Refused, Writer
from services.engagement.decisions.models import STAGES
from services.engagement.decisions.views import DecisionRecord, record_of
from shared import csrf
from shared.auth import Account, check, organisation, requires
from shared.http import POOL
from shared.i18n import gettext_ as _

# Names as pages show them (translated where shown).
STAGE_NAMES = {
    "proposed": "Proposed",
    "consultation": "Consultation",
    "deliberation": "Deliberation",
    "decided": "Decided",
    "implementing": "Implementing",
    "evaluated": "Evaluated",
}
OUTCOME_NAMES = {"approved": "Approved", "rejected": "Rejected", "amended": "Amended", "deferred": "Deferred"}
BODY_NAMES = {
    "city_council": "City council",
    "planning_commission": "Planning commission",
    "cop_steering": "CoP steering committee",
    "review_panel": "Review panel",
    "resident_ballot": "Resident ballot",
}
METHOD_NAMES = {
    "majority": "by a majority of the body",
    "consensus": "by consensus",
    "resident_ballot": "by the residents' ballot",
    "administrative": "by an administrative decision",
}
VOTE_NAMES = {
    "for": "For",
    "against": "Against",
    "abstain": "Abstained",
    "absent": "Absent",
    "recused": "Recused",
}
KIND_NAMES = {
    "created": "proposed",
    "details_edited": "details edited",
    "stage_changed": "stage changed",
    "consultation_linked": "consultation linked",
    "participation_counted": "participation counted",
    "assessment_written": "assessment written",
    "competition_set": "competition set",
    "application_received": "application received",
    "conflict_declared": "conflict of interest declared",
    "review_scored": "review scored",
    "vote_recorded": "vote recorded",
    "outcome_recorded": "outcome recorded",
    "correction": "correction",
}
# A decision's details by name, as an edit's entry names them.
DETAIL_NAMES = {
    "organisation_id": "Organisation",
    "region_id": "Region",
    "title": "Title",
    "site": "Site",
    "description": "Description",
    "document_links": "Document links",
    "body": "Deciding body",
    "method": "Method",
    "members": "Members",
}
NAMES = {
    "stages": STAGES,
    "detail_names": DETAIL_NAMES,
    "stage_names": STAGE_NAMES,
    "outcome_names": OUTCOME_NAMES,
    "body_names": BODY_NAMES,
    "method_names": METHOD_NAMES,
    "vote_names": VOTE_NAMES,
    "kind_names": KIND_NAMES,
}


def field_messages() -> dict[str, str]:
    return {
        "organisation_id": _("Choose one of your organisations."),
        "region_id": _("Choose the region the decision affects."),
        "title": _("Enter a title of up to 200 characters, on one line."),
        "site": _("Up to 200 characters, on one line."),
        "description": _("Up to 4000 characters, without control characters."),
        "document_links": _("Enter links starting https://, one per line."),
        "body": _("Choose who decides."),
        "method": _("Choose a method that fits the body: a resident ballot is both, and has no members."),
        "members": _("Enter each member on a line of their own: name, seat."),
        "to": _("This decision cannot move to that stage now."),
        "kind": _("Choose a survey or a meeting."),
        "target_id": _("Enter the survey's or the meeting's id."),
        "what_we_heard": _("Write what was heard: up to 8000 characters."),
        "who_pays": _("Say who pays: up to 4000 characters."),
        "who_benefits": _("Say who benefits: up to 4000 characters."),
        "who_decides": _("Say who decides: up to 4000 characters."),
        "groups": _("Enter each affected group on a line of its own: group | benefits | burdens."),
        "mitigations": _("Up to 4000 characters."),
        "narrative": _("Up to 8000 characters."),
        "outcome": _("Choose the outcome."),
        "votes": _("Choose each member's vote; a recusal says why."),
        "rationale": _("Write the rationale: up to 8000 characters."),
        "input_used": _("Say how each consultation's input was used."),
        "ballot": _("Name the ballot's question and the option that approves it."),
        "question": _("Enter the id of a single-choice question of the ballot's survey."),
        "approves": _("Enter the id of the option that approves."),
        "corrects": _("Choose the entry this corrects."),
        "why": _("Say what was wrong: up to 4000 characters."),
        "correction": _("Say what is right: up to 8000 characters."),
        "places": _("Enter how many are designated: a whole number from 1 to 1000."),
        "criteria": _("Enter each criterion on a line: name | weight (1 to 100) | description."),
        "community": _("Enter the community's name: up to 200 characters, on one line."),
        "lead": _("Enter the organisation leading it: up to 200 characters, on one line."),
        "summary": _("Up to 4000 characters."),
        "contact_person_id": _("Enter a registered person's id, or leave it empty."),
        "application_id": _("Choose an application."),
        "reviewer": _("Choose a reviewer."),
        "reason": _("Say why: up to 4000 characters."),
        "scores": _("Give every criterion a score from 0 to 10."),
        "form": _("This form had expired. Send it again."),
    }


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _parts(line: str, separator: str, names: tuple[str, ...]) -> dict[str, str]:
    values = [part.strip() for part in re.split(separator, line, maxsplit=len(names) - 1)]
    return dict(zip(names, values + [""] * (len(names) - len(values)), strict=True))


def typed_of(data: MultiMapping[Any]) -> dict[str, str]:
    return {str(name): str(value) for name, value in data.items() if name != csrf.FIELD}


def errors_of(exc: ValidationError, fields: frozenset[str], across: str = "form") -> dict[str, str]:
    """Each refused field's message; a rule across fields (no field of its own) beside ``across``."""
    messages = field_messages()
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        field = (loc[0] if loc[0] in fields else "form") if loc else across
        errors.setdefault(field, messages.get(field, str(error["msg"])))
    return errors


async def _record(request: web.Request) -> DecisionRecord:
    record = await record_of(request.app[POOL], _path_id(request, "decision_id"))
    if record is None:
        raise web.HTTPNotFound()
    return record


async def _owned(request: web.Request) -> tuple[DecisionRecord, Account]:
    record = await _record(request)
    return record, check(request, organisation(record.decision.organisation_id))


# A console form's write; what it answers is what the page then says it did ("saved" when
# None; "unchanged": nothing to write, and nothing was).
Write = Callable[[Writer, UUID, Mapping[str, str]], Awaitable[str | None]]
Render = Callable[[web.Request, Mapping[str, str], Mapping[str, str], int], Awaitable[web.Response]]


def _step(
    fields: frozenset[str], write: Write, render: Render, back: str = "", across: str = "form"
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A console form's handler: CSRF, the decision the account's, the form read into the
    write's model (errors beside the fields named; a rule across fields beside ``across``), the
    write (a refusal beside its field, or the form), answered 303 back to the console page
    (``back``: which one, saying what the write did) or with the page (``render``: which) and
    the errors."""

    @requires(ORGANIZER)
    async def handle(request: web.Request) -> web.Response:
        record, account = await _owned(request)
        data = await request.post()
        typed = typed_of(data)
        if not csrf.is_valid(request, data.get(csrf.FIELD)):
            return await render(request, typed, {"form": field_messages()["form"]}, 422)
        try:
            done = await write(Writer.of(request, account), record.decision.id, typed)
        except ValidationError as exc:
            return await render(request, typed, errors_of(exc, fields, across), 422)
        except Refused as exc:
            field = exc.field if exc.field in fields else "form"
            return await render(request, typed, {field: exc.detail}, exc.status)
        return _see_other(f"/console/decisions/{record.decision.id}{back}?{done or 'saved'}=1")

    return handle
