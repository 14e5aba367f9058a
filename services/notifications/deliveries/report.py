"""The notice report of a meeting, a campaign or a decision, for its host's organizers: per
notice (the confirmation of each registration, each change, the cancellation, each reminder; the
campaign's news and its survey invitations; the decision's outcome) every intended recipient in
exactly one state, with why, and the counts adding up to the notice's audience; a notice is
finished when none of it is pending or deferred. A line is a notice on one channel: campaign
news and survey invitations go to a person on each channel they have a contact point for, so a
line per channel keeps each person in one state on it (sent by e-mail, say, and suppressed by
SMS). Failed rows can be retried in one action: those sent are not touched (see
store.retry_failed); each retry is an entry of engagement's audit log."""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import aiohttp_jinja2
import asyncpg
from aiohttp import web
from pydantic import BaseModel

from services.notifications.deliveries import store
from services.notifications.deliveries.rules import STATES
from shared import csrf
from shared.audit import Acting
from shared.auth import ANY_ACCOUNT, Account, Need, check, cop, organisation, requires
from shared.http import POOL
from shared.openapi import Operation
from shared.problems import Problem

UNFINISHED = ("pending", "deferred")
# Notices each written for one person (a registration's, a reminder): counted together by kind,
# so a meeting's report has a line per kind of them, not one per registrant.
ONE_PER_PERSON = frozenset(
    {
        "registration_confirmed",
        "registration_waitlisted",
        "registration_promoted",
        "registration_cancelled",
        "reminder",
        "survey_invitation",
        "survey_reminder",
        "application_outcome",
    }
)


class NoticeCounts(BaseModel):
    notice: UUID | None  # None for the notices of one kind each written for one person
    kind: str
    channel: str
    recipients: int
    states: dict[str, int]
    reasons: dict[str, dict[str, int]]
    finished: bool


class Report(BaseModel):
    subject: str
    recipients: int
    states: dict[str, int]
    finished: bool
    notices: list[NoticeCounts]


class Retried(BaseModel):
    retried: int


def summarise(subject: str, rows: Iterable[Any]) -> Report:
    """Rows of (notice, kind, channel, state, reason, people) into counts per notice and
    channel, and for the whole."""
    notices: dict[tuple[UUID | str, str], NoticeCounts] = {}
    for row in rows:
        alone = row["kind"] in ONE_PER_PERSON
        counts = notices.setdefault(
            (row["kind"] if alone else row["notice"], row["channel"]),
            NoticeCounts(
                notice=None if alone else row["notice"],
                kind=row["kind"],
                channel=row["channel"],
                recipients=0,
                states=dict.fromkeys(STATES, 0),
                reasons={},
                finished=True,
            ),
        )
        counts.recipients += row["people"]
        counts.states[row["state"]] += row["people"]
        if row["reason"] is not None:
            by_reason = counts.reasons.setdefault(row["state"], {})
            by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + row["people"]
        if row["state"] in UNFINISHED:
            counts.finished = False
    total: dict[str, int] = dict.fromkeys(STATES, 0)
    for counts in notices.values():
        for state, n in counts.states.items():
            total[state] += n
    return Report(
        subject=subject,
        recipients=sum(total.values()),
        states=total,
        finished=all(n.finished for n in notices.values()),
        notices=list(notices.values()),
    )


async def _owner(pool: asyncpg.Pool, kind: str, thing_id: UUID) -> Need | None:
    if kind == "meetings":
        row = await pool.fetchrow(
            "SELECT organisation_id, cop_id FROM notice_meetings WHERE meeting_id = $1", thing_id
        )
        if row is None:
            return None
        return cop(row["cop_id"]) if row["cop_id"] is not None else organisation(row["organisation_id"])
    table = "notice_decisions" if kind == "decisions" else "notice_campaigns"
    owner = await pool.fetchval(
        f"SELECT organisation_id FROM {table} WHERE {kind[:-1]}_id = $1",  # noqa: S608 - two names of ours
        thing_id,
    )
    return None if owner is None else organisation(owner)


async def _subject(request: web.Request) -> tuple[str, Account]:
    """The report's subject and the account, once it may see it (its host's), or 404."""
    kind = next(k for k in ("meetings", "decisions", "campaigns") if f"{k[:-1]}_id" in request.match_info)
    try:
        thing_id = UUID(request.match_info[f"{kind[:-1]}_id"])
    except ValueError:
        thing_id = None
    need = None if thing_id is None else await _owner(request.app[POOL], kind, thing_id)
    if need is None:
        if request.path.startswith("/api/"):
            raise Problem(404, "Not found", f"notifications knows of no such {kind[:-1]}")
        raise web.HTTPNotFound()
    return f"{kind[:-1]}:{thing_id}", check(request, need)


async def report_of(request: web.Request) -> Report:
    subject, _account = await _subject(request)
    async with request.app[POOL].acquire() as conn:
        return summarise(subject, await store.report(conn, subject))


async def retry(request: web.Request, subject: str, account: Account) -> int:
    """The subject's failed rows due again, and the organizer's retry told to engagement's audit
    log (organizer.acted), in one transaction."""
    async with request.app[POOL].acquire() as conn, conn.transaction():
        retried = await store.retry_failed(conn, subject)
        await Acting.of(request, account).record(conn, "deliveries.retried", subject)
    return retried


@requires(ANY_ACCOUNT)
async def report_api(request: web.Request) -> web.Response:
    return web.json_response(text=(await report_of(request)).model_dump_json())


@requires(ANY_ACCOUNT)
async def retry_api(request: web.Request) -> web.Response:
    subject, account = await _subject(request)
    return web.json_response(Retried(retried=await retry(request, subject, account)).model_dump())


@requires(ANY_ACCOUNT)
async def report_page(request: web.Request) -> web.Response:
    report = await report_of(request)
    token, cookie = csrf.token(request)
    response = aiohttp_jinja2.render_template(
        "notice_report.html",
        request,
        {
            "report": report,
            "csrf": token,
            "retried": request.query.get("retried"),
            "states": STATES,
            "request_path": request.path,
        },
    )
    csrf.set_cookie(response, cookie)
    response.headers["Cache-Control"] = "no-store"
    return response


@requires(ANY_ACCOUNT)
async def retry_page(request: web.Request) -> web.Response:
    subject, account = await _subject(request)  # 404 or 403 before anything is read of the form
    if not csrf.is_valid(request, (await request.post()).get(csrf.FIELD)):
        raise web.HTTPForbidden(reason="Form expired or forged")
    retried = await retry(request, subject, account)
    raise web.HTTPSeeOther(f"{request.path.removesuffix('/retry')}?retried={retried}")


THINGS = ("meetings/{meeting_id}", "campaigns/{campaign_id}", "decisions/{decision_id}")

OPERATIONS = tuple(
    operation
    for thing in THINGS
    for operation in (
        Operation(
            "GET",
            f"/api/v1/notifications/{thing}/report",
            f"The notice report of a {thing.split('/')[0][:-1]}: every intended recipient in one state",
            response=Report,
            problems=(404,),
            need=ANY_ACCOUNT,
        ),
        Operation(
            "POST",
            f"/api/v1/notifications/{thing}/report/retry",
            f"Retry the failed deliveries of a {thing.split('/')[0][:-1]} (never one already sent)",
            response=Retried,
            problems=(404,),
            need=ANY_ACCOUNT,
        ),
    )
)


def add_routes(app: web.Application) -> None:
    for thing in THINGS:
        app.router.add_get(f"/api/v1/notifications/{thing}/report", report_api)
        app.router.add_post(f"/api/v1/notifications/{thing}/report/retry", retry_api)
        app.router.add_get(f"/notifications/console/{thing}", report_page)
        app.router.add_post(f"/notifications/console/{thing}/retry", retry_page)
