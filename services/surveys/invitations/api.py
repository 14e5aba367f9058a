"""Invitations on demand: an organizer of the survey's organisation (or an admin) invites people
by their ids, e.g. those who registered after the campaign's launch. Only people surveys knows
(its respondents, from ``person.registered``) are invited, in the language they registered
with: an id of someone erased or unknown invites no one, and is counted as such."""

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.surveys import ownership
from services.surveys.invitations import issuing, rules, store
from services.surveys.invitations.rules import MAX_ON_DEMAND, NoInvitations
from shared.audit import Acting
from shared.auth import Need, Role, requires
from shared.contracts import AudienceMember
from shared.http import POOL
from shared.openapi import Operation
from shared.problems import Problem, parse_json

ORGANIZER = Need(Role.ORGANIZER)  # of the survey's organisation: checked once it is found
INVITATIONS = "/api/v1/surveys/{survey_id}/invitations"
REFUSALS = {
    NoInvitations.PUBLIC_ONLY: "this survey has a public link only and takes no invitations",
    NoInvitations.NOT_OPEN_YET: "this survey is a draft: publish it first",
    NoInvitations.CLOSED: "this survey is closed",
}


class InvitationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_ids: tuple[UUID, ...] = Field(min_length=1, max_length=MAX_ON_DEMAND)


class InvitationsIssued(BaseModel):
    issued: int = Field(description="invitations issued now, each mailed if its person consents")
    already_invited: int = Field(description="people who had an invitation to this survey already")
    not_known: int = Field(description="ids of no one surveys knows (never registered, or erased)")


def refusal_of(survey: asyncpg.Record) -> NoInvitations | None:
    return rules.refusal(
        survey["access"], survey["status"], survey["opens_at"], survey["closes_at"], datetime.now(UTC)
    )


async def invite(
    pool: asyncpg.Pool, survey: asyncpg.Record, person_ids: Sequence[UUID], *, acting: Acting
) -> InvitationsIssued:
    """Invite the people surveys knows among ``person_ids`` (the API and the console), with the
    audit entry in the same transaction. It names the survey only: the audit log is append-only,
    so it must not hold the invitees' ids, which their erasure could not remove from it."""
    async with pool.acquire() as conn, conn.transaction():
        known = [
            AudienceMember.model_validate(dict(row)) for row in await store.respondents(conn, person_ids)
        ]
        done = await issuing.issue(
            conn,
            survey,
            known,
            correlation_id=acting.request_id,
            actor=f"account:{acting.account.id}",
        )
        await acting.record(conn, "survey.people_invited", f"survey:{survey['id']}")
    return InvitationsIssued(
        issued=done.issued, already_invited=done.already_invited, not_known=len(set(person_ids)) - len(known)
    )


@requires(ORGANIZER)
async def invite_people(request: web.Request) -> web.Response:
    account, survey = await ownership.owned(request, store.survey)
    body = await parse_json(request, InvitationRequest)
    refusal = refusal_of(survey)
    if refusal is not None:
        raise Problem(409, "Takes no invitations", REFUSALS[refusal], reason=refusal.value)
    issued = await invite(request.app[POOL], survey, body.person_ids, acting=Acting.of(request, account))
    return web.Response(text=issued.model_dump_json(), content_type="application/json")


OPERATIONS = (
    Operation(
        "POST",
        INVITATIONS,
        "Invite people by their ids to a survey of your organisation (each once; mailed on their consent)",
        request=InvitationRequest,
        response=InvitationsIssued,
        problems=(404, 409),
        need=ORGANIZER,
    ),
)


def add_routes(app: web.Application) -> None:
    app.router.add_post(INVITATIONS, invite_people)
