"""Sign-in, sign-out, the session check nginx makes for every request, the console's first
pages, and the accounts and audit API."""

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from datetime import timedelta

import aiohttp_jinja2
import asyncpg
from aiohttp import web

from services.engagement import throttle
from services.engagement.accounts import store
from services.engagement.accounts.changes import Refused, Writer
from services.engagement.accounts.credentials import (
    new_session_id,
    password_matches,
    session_hash,
)
from services.engagement.accounts.models import (
    PASSWORD_MAX,
    AccountList,
    AccountStatus,
    AccountSummary,
    AccountView,
    AuditEntry,
    AuditLog,
    NewAccount,
)
from services.engagement.community.api import path_id, query_of, total
from services.engagement.community.models import pages
from shared import csrf
from shared.auth import (
    ACCOUNT_HEADER,
    ADMIN,
    ANY_ACCOUNT,
    ROLES_HEADER,
    SESSION_CHECK_PATH,
    SESSION_COOKIE,
    Account,
    Grant,
    account_of,
    requires,
)
from shared.cancellation import stop_if_cancelled
from shared.http import POOL
from shared.i18n import gettext_ as _
from shared.openapi import Operation
from shared.problems import Problem, parse_json, refusal
from shared.settings import Settings

log = logging.getLogger(__name__)

# A session lasts at most a working day, and ends after two hours unused.
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=2)
# last_seen_at is written at most once a minute per session: most checks only read.
TOUCH_AFTER = timedelta(minutes=1)
# Sign-in attempts, right or wrong, per fixed window: per account (guessing one password) and per
# address (trying many accounts).
LOGIN_WINDOW_S = 900
LOGIN_ATTEMPTS_PER_ACCOUNT = 10
LOGIN_ATTEMPTS_PER_ADDRESS = 50
HOME = "/console/"


async def session(request: web.Request) -> web.Response:
    """nginx's auth_request: 200 with the account and its roles for a live session, 200 with
    neither for anybody else. One lookup by primary key."""
    response = web.Response()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        row = await store.session_account(request.app[POOL], session_hash(cookie), SESSION_IDLE, TOUCH_AFTER)
        if row is not None:
            response.headers[ACCOUNT_HEADER] = str(row["account_id"])
            response.headers[ROLES_HEADER] = " ".join(row["roles"])
    return response


async def login_page(request: web.Request) -> web.Response:
    next_ = _safe_next(request.query.get("next"))
    return _login(request, email="", next_=next_, errors={}, signed_out="signed_out" in request.query)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    email = str(form.get("email", "")).strip()[:320]
    password = str(form.get("password", ""))[:PASSWORD_MAX]
    next_ = _safe_next(form.get("next"))
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return _login(
            request,
            email=email,
            next_=next_,
            errors={"form": _("This form had expired. Send it again.")},
            status=403,
        )
    errors = {}
    if not email:
        errors["email"] = _("Enter your e-mail address.")
    if not password:
        errors["password"] = _("Enter your password.")
    if errors:
        return _login(request, email=email, next_=next_, errors=errors, status=422)
    pool = request.app[POOL]
    wait = await seconds_to_wait(pool, request, email)
    if wait is not None:
        minutes = max(1, round(wait / 60))
        message = _("Too many sign-in attempts. Try again in %(minutes)s minutes.") % {"minutes": minutes}
        response = _login(request, email=email, next_=next_, errors={"form": message}, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    found = await store.find_for_login(pool, email)
    matches = await password_matches(found["password_hash"] if found else None, password)
    if found is None or not matches or found["disabled"]:
        refused = _("This e-mail address and password do not match an account that may sign in.")
        return _login(request, email=email, next_=next_, errors={"password": refused}, status=422)
    session_id = new_session_id()
    previous = request.cookies.get(SESSION_COOKIE)
    await store.start_session(
        pool,
        session_hash(session_id),
        found["id"],
        SESSION_LIFETIME,
        session_hash(previous) if previous else None,
    )
    response = _see_other(next_)
    set_session_cookie(request, response, session_id)
    return response


def set_session_cookie(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_over_tls(request),
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )


async def logout_page(request: web.Request) -> web.Response:
    token, cookie = csrf.token(request)
    context = {"csrf": token, "signed_in": account_of(request) is not None}
    response = aiohttp_jinja2.render_template("logout.html", request, context)
    csrf.set_cookie(response, cookie)
    return response


async def logout(request: web.Request) -> web.Response:
    await csrf.check_form(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await store.end_session(request.app[POOL], session_hash(cookie))
    response = _see_other("/login?signed_out=1")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@requires(ANY_ACCOUNT)
async def console(request: web.Request) -> web.Response:
    account = await _own_account(request)
    token, _cookie = csrf.token(request)
    context = {"account": account, "csrf": token, "is_admin": _signed_in(request).is_admin}
    return aiohttp_jinja2.render_template("console.html", request, context)


@requires(ADMIN)
async def audit_page(request: web.Request) -> web.Response:
    entries = await store.audit_entries(request.app[POOL], 100)
    return aiohttp_jinja2.render_template("audit.html", request, {"entries": entries})


@requires(ANY_ACCOUNT)
async def me(request: web.Request) -> web.Response:
    return _json(await _own_account(request))


@requires(ADMIN)
async def create_account(request: web.Request) -> web.Response:
    """An admin creates an account with its roles; the write and its audit entry in one transaction."""
    new = await parse_json(request, NewAccount)
    try:
        account_id = await _writer(request).create_account(new)
    except Refused as exc:
        raise refused(exc) from exc
    response = await _account(request, account_id, status=201)
    response.headers["Location"] = "/api/v1/accounts/me"
    return response


@requires(ADMIN)
async def list_accounts(request: web.Request) -> web.Response:
    query = query_of(request)
    rows = await store.account_summaries(request.app[POOL], query.q, query.offset)
    items = [summary_of(row) for row in rows]
    return _json(AccountList(items=items, page=query.page, pages=pages(total(rows))))


@requires(ADMIN)
async def grant_role(request: web.Request) -> web.Response:
    account_id = path_id(request, "account_id")
    grant = await parse_json(request, Grant)
    return await _changed(request, account_id, _writer(request).grant_role(account_id, grant))


@requires(ADMIN)
async def remove_role(request: web.Request) -> web.Response:
    account_id = path_id(request, "account_id")
    try:
        grant = Grant.parse(request.match_info["role"])
    except ValueError:  # pydantic's ValidationError is one too
        raise Problem(404, "Not found", "no such role: admin, organizer:<id> or cop_lead:<id>") from None
    return await _changed(request, account_id, _writer(request).remove_role(account_id, grant))


@requires(ADMIN)
async def set_disabled(request: web.Request) -> web.Response:
    account_id = path_id(request, "account_id")
    status = await parse_json(request, AccountStatus)
    return await _changed(request, account_id, _writer(request).set_disabled(account_id, status.disabled))


def _writer(request: web.Request) -> Writer:
    return Writer.of(request, _signed_in(request))


async def _changed(request: web.Request, account_id: uuid.UUID, write: Awaitable[None]) -> web.Response:
    """The account as the write left it, or the problem the write was refused with."""
    try:
        await write
    except Refused as exc:
        raise refused(exc) from exc
    return await _account(request, account_id)


def refused(exc: Refused) -> Problem:
    why = exc.refusal.value
    return refusal(why.status, why.detail, why.field)


def summary_of(row: asyncpg.Record) -> AccountSummary:
    roles = list(row["roles"])
    names = {role: name for role, name in zip(roles, row["names"], strict=True) if name}
    return AccountSummary.model_validate({**dict(row), "roles": roles, "names": names})


async def _account(request: web.Request, account_id: uuid.UUID, status: int = 200) -> web.Response:
    row = await store.account(request.app[POOL], account_id)
    if row is None:  # removed since: accounts are not deleted today
        raise Problem(404, "Not found", "no such account")
    return _json(_view(row), status=status)


@requires(ADMIN)
async def audit(request: web.Request) -> web.Response:
    rows = await store.audit_entries(request.app[POOL], 100)
    return _json(AuditLog(entries=[AuditEntry.model_validate(dict(row)) for row in rows]))


ACCOUNTS = "/api/v1/accounts"
ACCOUNT_ROLES = ACCOUNTS + "/{account_id}/roles"
ACCOUNT_ROLE = ACCOUNT_ROLES + "/{role}"
ACCOUNT_DISABLED = ACCOUNTS + "/{account_id}/disabled"

OPERATIONS = (
    Operation(
        "GET",
        "/api/v1/accounts/me",
        "The signed-in account and its roles",
        response=AccountView,
        need=ANY_ACCOUNT,
    ),
    Operation(
        "POST",
        "/api/v1/accounts",
        "Create an organizer, CoP lead or admin account (admins only)",
        request=NewAccount,
        response=AccountView,
        status=201,
        problems=(409,),
        need=ADMIN,
    ),
    Operation(
        "GET", "/api/v1/audit", "The latest 100 organizer writes (admins only)", response=AuditLog, need=ADMIN
    ),
    Operation(
        "GET",
        ACCOUNTS,
        "Accounts and their roles, searched by address or name (?q=) a page at a time (?page=) (admins only)",
        response=AccountList,
        problems=(422,),
        need=ADMIN,
    ),
    Operation(
        "POST",
        ACCOUNT_ROLES,
        "Give an account a role, from its next request on (admins only); one it holds changes nothing",
        request=Grant,
        response=AccountView,
        problems=(404,),
        need=ADMIN,
    ),
    Operation(
        "DELETE",
        ACCOUNT_ROLE,
        "Remove a role (admin, organizer:<id>, cop_lead:<id>) from the account's next request on "
        "(admins only; not one's own admin role)",
        response=AccountView,
        problems=(404, 409),
        need=ADMIN,
    ),
    Operation(
        "PUT",
        ACCOUNT_DISABLED,
        "Disable an account, ending its sessions, or enable it again (admins only; not one's own)",
        request=AccountStatus,
        response=AccountView,
        problems=(404, 409),
        need=ADMIN,
    ),
)


def add_routes(app: web.Application) -> None:
    app.router.add_get(SESSION_CHECK_PATH, session)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_get("/logout", logout_page)
    app.router.add_post("/logout", logout)
    app.router.add_get(HOME, console)
    app.router.add_get("/console/audit", audit_page)
    app.router.add_get("/api/v1/accounts/me", me)
    app.router.add_post("/api/v1/accounts", create_account)
    app.router.add_get("/api/v1/audit", audit)
    app.router.add_get(ACCOUNTS, list_accounts)
    app.router.add_post(ACCOUNT_ROLES, grant_role)
    app.router.add_delete(ACCOUNT_ROLE, remove_role)
    app.router.add_put(ACCOUNT_DISABLED, set_disabled)


def _login(
    request: web.Request,
    *,
    email: str,
    next_: str,
    errors: dict[str, str],
    status: int = 200,
    signed_out: bool = False,
) -> web.Response:
    token, cookie = csrf.token(request)
    context = {
        "email": email,
        "errors": errors,
        "csrf": token,
        "next": next_,
        "signed_out": signed_out,
    }
    response = aiohttp_jinja2.render_template("login.html", request, context, status=status)
    csrf.set_cookie(response, cookie)
    response.headers["Cache-Control"] = "no-store"
    return response


async def seconds_to_wait(pool: asyncpg.Pool, request: web.Request, email: str) -> int | None:
    """Counts one attempt to sign in as ``email`` (or to change its password) against the
    account's and the address's limits; how long to wait when either is over, else None."""
    limits = {
        f"account:{email.lower()}": LOGIN_ATTEMPTS_PER_ACCOUNT,
        f"address:{throttle.client_address(request)}": LOGIN_ATTEMPTS_PER_ADDRESS,
    }
    counted = await store.count_login_attempt(pool, list(limits), LOGIN_WINDOW_S)
    over = [row["seconds_left"] for row in counted if row["attempts"] > limits[row["key"]]]
    return max(over) if over else None


async def forget_old_attempts(pool: asyncpg.Pool, settings: Settings) -> None:
    """Background loop (relay role): drop ended sign-in windows and expired sessions."""
    while True:
        stop_if_cancelled()
        try:
            await store.forget(pool, LOGIN_WINDOW_S)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("could not forget old sign-in attempts and sessions: %s", exc)
        await asyncio.sleep(LOGIN_WINDOW_S)


def _signed_in(request: web.Request) -> Account:
    account = account_of(request)
    assert account is not None  # a handler wrapped in requires() runs only for an account
    return account


async def _own_account(request: web.Request) -> AccountView:
    row = await store.account(request.app[POOL], _signed_in(request).id)
    if row is None:
        raise Problem(401, "Not signed in", "the account no longer exists")
    return _view(row)


def _view(row: asyncpg.Record) -> AccountView:
    return AccountView.model_validate(dict(row))


def _json(model: AccountView | AccountList | AuditLog, status: int = 200) -> web.Response:
    return web.Response(text=model.model_dump_json(), status=status, content_type="application/json")


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _safe_next(value: object) -> str:
    """Where to go after signing in: a path on this site only (never //other.site or a URL)."""
    text = str(value or "")
    if text.startswith("/") and not text.startswith("//") and "\\" not in text and len(text) <= 2000:
        return text
    return HOME


def _over_tls(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
