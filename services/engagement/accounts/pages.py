"""The console's accounts pages (admins: the accounts, their roles, disabling one) and every
account's own password page. Forms without JavaScript, written through changes.Writer as the
API is; an error is shown beside its field with what was typed kept (never a password: a page
does not send one back); a write answers 303 to the page it changed.

A new account's first password is generated and shown once, on the page that answers the form:
the admin does not have to invent one (nor type it twice on a phone), it is as strong as the
generator, and it is never in a URL, a log or a cache (no-store); only its argon2 hash is kept.
The admin gives it to the person, who changes it on /console/password.

As on the other console pages, an expired or forged form is answered 422 with the page again,
and 403 is kept for "your roles do not allow this"."""

from collections.abc import Awaitable, Mapping
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from services.engagement.accounts import store
from services.engagement.accounts.api import (
    SESSION_LIFETIME,
    seconds_to_wait,
    set_session_cookie,
    summary_of,
)
from services.engagement.accounts.changes import Refusal, Refused, Writer, new_password
from services.engagement.accounts.credentials import new_session_id, session_hash
from services.engagement.accounts.models import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    AccountSummary,
    NewAccount,
    Password,
)
from services.engagement.community.api import total
from services.engagement.community.models import pages
from services.engagement.community.pages import _page, _path_id, _query, _see_other
from shared import csrf
from shared.auth import ADMIN, ANY_ACCOUNT, LOGIN_PATH, Account, Grant, Role, check, requires
from shared.http import POOL
from shared.i18n import gettext_ as _

ACCOUNTS = "/console/accounts"
PASSWORD_PATH = "/console/password"  # noqa: S105 - a path, not a password
_PASSWORD = TypeAdapter(Password)


def field_messages() -> dict[str, str]:
    """What to say beside a field whose value was refused, in the page's language."""
    return {
        "email": _("Enter an e-mail address such as name@example.org."),
        "display_name": _("Enter a name of up to 200 characters, on one line."),
        "role": _("Choose a role from the list."),
        "form": _("This form had expired. Send it again."),
        "current_password": _("Enter your current password."),
        "new_password": _("Enter a new password of %(min)s to %(max)s characters.")
        % {"min": PASSWORD_MIN, "max": PASSWORD_MAX},
        "new_password_again": _("The two new passwords differ: type the same one twice."),
    }


def refusal_message(refusal: Refusal) -> tuple[str, str]:
    """The field (or part of the page) a refusal is said beside, and what to say."""
    said = {
        Refusal.EMAIL_TAKEN: ("email", _("An account has this e-mail address already.")),
        Refusal.UNKNOWN_SCOPE: ("role", field_messages()["role"]),
        Refusal.NOT_FOUND: ("form", _("It no longer exists.")),
        Refusal.OWN_ADMIN_ROLE: (
            "roles",
            _("You cannot remove your own admin role: another admin can, so the platform always has one."),
        ),
        Refusal.OWN_ACCOUNT: (
            "status",
            _("You cannot disable your own account: another admin can, so the platform always has one."),
        ),
        Refusal.NO_LONGER_ADMIN: ("form", _("Your account is no longer an enabled admin.")),
        Refusal.WRONG_PASSWORD: ("current_password", _("This is not your current password.")),
    }
    return said[refusal]


def role_label(role: str, names: Mapping[str, str]) -> str:
    """A role as a reader says it: the organisation or CoP by name (by id when not found)."""
    grant = Grant.parse(role)
    name = names.get(role, str(grant.scope))
    if grant.role is Role.ORGANIZER:
        return _("Organizer of %(name)s") % {"name": name}
    if grant.role is Role.COP_LEAD:
        return _("CoP lead of %(name)s") % {"name": name}
    return _("Admin")


def password_errors(current: str, new: str, again: str) -> dict[str, str]:
    """What is wrong with a password change as typed, field by field (nothing checked yet
    against the account)."""
    messages = field_messages()
    errors = {}
    if not current:
        errors["current_password"] = messages["current_password"]
    try:
        _PASSWORD.validate_python(new)
    except ValidationError:
        errors["new_password"] = messages["new_password"]
    else:
        if again != new:
            errors["new_password_again"] = messages["new_password_again"]
        elif new == current:
            errors["new_password"] = _("This is the password you have: choose a new one.")
    return errors


def _expired(request: web.Request, data: Mapping[str, object]) -> dict[str, str]:
    return {} if csrf.is_valid(request, data.get(csrf.FIELD)) else {"form": field_messages()["form"]}


def _grant_of(text: str) -> Grant | None:
    try:
        return Grant.parse(text)
    except ValueError:  # pydantic's ValidationError is one too
        return None


def _admin(request: web.Request) -> Account:
    return check(request, ADMIN)


async def _choices(pool: asyncpg.Pool) -> dict[str, list[tuple[str, str]]]:
    """The roles a form offers beyond admin, as (value, name) per kind."""
    choices: dict[str, list[tuple[str, str]]] = {Role.ORGANIZER.value: [], Role.COP_LEAD.value: []}
    for row in await store.scopes(pool):
        choices[row["role"]].append((f"{row['role']}:{row['id']}", row["name"]))
    return choices


def _offered(grant: Grant, choices: Mapping[str, list[tuple[str, str]]]) -> bool:
    return grant.role is Role.ADMIN or str(grant) in {value for value, _name in choices[grant.role.value]}


def _labelled(account: AccountSummary) -> list[tuple[str, str]]:
    return [(role, role_label(role, account.names)) for role in account.roles]


# The list and a new account


@requires(ADMIN)
async def accounts_page(request: web.Request) -> web.Response:
    query = _query(request)
    rows = await store.account_summaries(request.app[POOL], query.q, query.offset)
    items = [(account, _labelled(account)) for account in map(summary_of, rows)]
    context = {"items": items, "query": query, "pages": pages(total(rows))}
    return _page(request, "accounts.html", context)


async def _new_account(
    request: web.Request, typed: Mapping[str, str], errors: Mapping[str, str], status: int = 200
) -> web.Response:
    context = {"typed": typed, "errors": errors, "choices": await _choices(request.app[POOL])}
    return _page(request, "accounts_new.html", context, status)


@requires(ADMIN)
async def new_account_page(request: web.Request) -> web.Response:
    return await _new_account(request, {}, {})


@requires(ADMIN)
async def create_account(request: web.Request) -> web.Response:
    """The account with a generated password, shown on the page this answers and never again."""
    admin = _admin(request)
    data = await request.post()
    typed = {name: str(data.get(name, "")) for name in ("email", "display_name", "role")}
    errors = _expired(request, data)
    if not errors:
        choices = await _choices(request.app[POOL])
        grant = _grant_of(typed["role"])
        if typed["role"] and (grant is None or not _offered(grant, choices)):
            errors["role"] = field_messages()["role"]
        password = new_password()
        try:
            fields = {"email": typed["email"].strip(), "display_name": typed["display_name"]}
            roles = [grant] if grant else []
            new = NewAccount.model_validate({**fields, "password": password, "roles": roles})
        except ValidationError as exc:
            messages = field_messages()
            for error in exc.errors(include_url=False):
                field = str(error["loc"][0]) if error["loc"] else "form"
                errors.setdefault(field, messages.get(field, messages["form"]))
        if not errors:
            try:
                account_id = await Writer.of(request, admin).create_account(new)
            except Refused as exc:
                field, message = refusal_message(exc.refusal)
                errors = {field: message}
            else:
                context = {"account_id": account_id, "new": new, "password": password}
                return _page(request, "accounts_created.html", context, 201)
    return await _new_account(request, typed, errors, 422)


# One account: its roles and whether it may sign in


async def _account_page(
    request: web.Request,
    account_id: UUID,
    typed: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    pool = request.app[POOL]
    row = await store.account_summary(pool, account_id)
    if row is None:
        raise web.HTTPNotFound()
    account = summary_of(row)
    context = {
        "account": account,
        "roles": _labelled(account),
        "choices": await _choices(pool),
        "typed": typed,
        "errors": errors,
        "is_self": account.id == _admin(request).id,
    }
    return _page(request, "accounts_account.html", context, status)


@requires(ADMIN)
async def account_page(request: web.Request) -> web.Response:
    return await _account_page(request, _path_id(request, "account_id"), {}, {})


@requires(ADMIN)
async def grant_role(request: web.Request) -> web.Response:
    account_id = _path_id(request, "account_id")
    data = await request.post()
    typed = {"role": str(data.get("role", ""))}
    errors = _expired(request, data)
    if not errors:
        grant = _grant_of(typed["role"])
        if grant is None or not _offered(grant, await _choices(request.app[POOL])):
            errors = {"role": field_messages()["role"]}
        else:
            written = Writer.of(request, _admin(request)).grant_role(account_id, grant)
            return await _written(request, account_id, written, "added", typed)
    return await _account_page(request, account_id, typed, errors, 422)


@requires(ADMIN)
async def remove_role(request: web.Request) -> web.Response:
    account_id = _path_id(request, "account_id")
    data = await request.post()
    errors = _expired(request, data)
    grant = _grant_of(str(data.get("role", "")))
    if not errors and grant is not None:
        written = Writer.of(request, _admin(request)).remove_role(account_id, grant)
        return await _written(request, account_id, written, "removed")
    return await _account_page(request, account_id, {}, errors or {"roles": field_messages()["role"]}, 422)


@requires(ADMIN)
async def disable(request: web.Request) -> web.Response:
    return await _set_disabled(request, True)


@requires(ADMIN)
async def enable(request: web.Request) -> web.Response:
    return await _set_disabled(request, False)


async def _set_disabled(request: web.Request, disabled: bool) -> web.Response:
    account_id = _path_id(request, "account_id")
    if errors := _expired(request, await request.post()):
        return await _account_page(request, account_id, {}, errors, 422)
    written = Writer.of(request, _admin(request)).set_disabled(account_id, disabled)
    return await _written(request, account_id, written, "saved")


async def _written(
    request: web.Request,
    account_id: UUID,
    write: Awaitable[None],
    done: str,
    typed: Mapping[str, str] | None = None,
) -> web.Response:
    """303 to the account's page saying what was done, or the page again with the refusal
    beside what it is about. A role removed already (a second click, another admin) is no
    refusal: the page shows the roles as they are."""
    try:
        await write
    except Refused as exc:
        if exc.refusal is not Refusal.NOT_FOUND or done != "removed":
            field, message = refusal_message(exc.refusal)
            return await _account_page(request, account_id, typed or {}, {field: message}, 422)
    return _see_other(f"{ACCOUNTS}/{account_id}?{done}=1")


# One's own password


def _password_page(request: web.Request, errors: Mapping[str, str], status: int = 200) -> web.Response:
    context = {"errors": errors, "password_min": PASSWORD_MIN}
    return _page(request, "password.html", context, status)


@requires(ANY_ACCOUNT)
async def password_page(request: web.Request) -> web.Response:
    return _password_page(request, {})


@requires(ANY_ACCOUNT)
async def change_password(request: web.Request) -> web.Response:
    """Counted with the account's sign-in attempts (and its address's): a stolen session gets
    no more guesses at the password here than at the sign-in page. On success every other
    session of the account ends and this browser's session id changes."""
    account = check(request, ANY_ACCOUNT)
    data = await request.post()
    current, new, again = (
        str(data.get(name, ""))[: PASSWORD_MAX + 1]
        for name in ("current_password", "new_password", "new_password_again")
    )
    errors = _expired(request, data) or password_errors(current, new, again)
    if errors:
        return _password_page(request, errors, 422)
    pool = request.app[POOL]
    own = await store.account(pool, account.id)
    if own is None:  # no such account any more: as signed out
        raise web.HTTPSeeOther(f"{LOGIN_PATH}?next={PASSWORD_PATH}")
    wait = await seconds_to_wait(pool, request, own["email"])
    if wait is not None:
        minutes = max(1, round(wait / 60))
        message = _("Too many sign-in attempts. Try again in %(minutes)s minutes.") % {"minutes": minutes}
        response = _password_page(request, {"form": message}, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    session_id = new_session_id()
    try:
        await Writer.of(request, account).change_password(
            own["email"], current, new, session_hash(session_id), SESSION_LIFETIME
        )
    except Refused as exc:
        field, message = refusal_message(exc.refusal)
        return _password_page(request, {field: message}, 422)
    response = _see_other(f"{PASSWORD_PATH}?saved=1")
    set_session_cookie(request, response, session_id)
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get(ACCOUNTS, accounts_page)
    app.router.add_get(f"{ACCOUNTS}/new", new_account_page)
    app.router.add_post(f"{ACCOUNTS}/new", create_account)
    app.router.add_get(ACCOUNTS + "/{account_id}", account_page)
    app.router.add_post(ACCOUNTS + "/{account_id}/roles", grant_role)
    app.router.add_post(ACCOUNTS + "/{account_id}/roles/remove", remove_role)
    app.router.add_post(ACCOUNTS + "/{account_id}/disable", disable)
    app.router.add_post(ACCOUNTS + "/{account_id}/enable", enable)
    app.router.add_get(PASSWORD_PATH, password_page)
    app.router.add_post(PASSWORD_PATH, change_password)
