"""The resident's own page (``/me``): asking for a link by e-mail address, signing in through it
(GET shows a button, POST signs in: mail scanners follow links), seeing and changing their data
and consent, leaving a Community of Practice, downloading all the platform holds on them,
erasing themselves, signing out.

Every page but the first two needs a resident session (its own cookie, not an organizer's
session): without one it sends the reader to ``/me`` to ask for a link."""

import asyncio
import json
import logging
from typing import Any
from uuid import UUID

import aiohttp_jinja2
import asyncpg
from aiohttp import web

from services.engagement import throttle
from services.engagement.accounts import store as accounts_store
from services.engagement.accounts.api import LOGIN_WINDOW_S
from services.engagement.community import changes
from services.engagement.community import store as community_store
from services.engagement.people import PersonRegistration, refusals
from services.engagement.people import store as people_store
from services.engagement.people.changing import ConsentRefused, change_consent
from services.engagement.people.consent import PERSON, ConsentChange, Method, label
from services.engagement.people.erasing import erase_person
from services.engagement.residents import details, export, store, tokens
from shared import csrf
from shared.cancellation import stop_if_cancelled
from shared.contracts import DetailsChanged, SignInLinkRequested
from shared.db import DbConnection
from shared.http import POOL, SERVICE, SETTINGS, request_id
from shared.i18n import gettext_ as _
from shared.outbox import emit
from shared.settings import Settings

log = logging.getLogger(__name__)

HOME = "/me"
# The path of a mailed link: its token, as long as new_secret() makes them and then some.
_LINK = "/me/sign-in/{token:[A-Za-z0-9_-]{32,128}}"
PRODUCER = "engagement"
# ``/me?left=`` after leaving names the CoP left, or says the person was not a member of it.
NOT_A_MEMBER = "not-a-member"


async def me(request: web.Request) -> web.Response:
    """Their page when signed in as a resident, else the form asking for a link."""
    person_id = await _resident(request)
    if person_id is None:
        return _ask_page(request, email="", errors={}, signed_out="signed_out" in request.query)
    query = request.query
    return await _own_page(request, person_id, saved=query.get("saved", ""), left=query.get("left", ""))


async def ask_for_link(request: web.Request) -> web.Response:
    """The same answer whether the address is registered or not: it must not tell who is."""
    form = await request.post()
    email = str(form.get("email", "")).strip()[:320]
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return _ask_page(request, email=email, errors={"form": _expired()}, status=403)
    try:
        typed = PersonRegistration(display_name="-", email=email).email
    except ValueError:
        typed = None
    if typed is None:
        errors = {"email": _("Enter the e-mail address you registered with, such as ana@example.org.")}
        return _ask_page(request, email=email, errors=errors, status=422)
    pool = request.app[POOL]
    wait = await _seconds_to_wait(pool, request, typed)
    if wait is not None:
        minutes = max(1, round(wait / 60))
        message = _("Too many links asked for. Try again in %(minutes)s minutes.") % {"minutes": minutes}
        response = _ask_page(request, email=email, errors={"form": message}, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    await _send_link(pool, typed, request_id(request))
    return _ask_page(request, email="", errors={}, sent_to=typed)


async def _send_link(pool: asyncpg.Pool, email: str, correlation_id: str) -> None:
    """A link and its event in one transaction, for a registered address; nothing otherwise."""
    async with pool.acquire() as conn, conn.transaction():
        person = await store.person_to_link(conn, email)
        if person is None:
            return
        token = tokens.new_secret()
        valid_until = await store.insert_link(
            conn, tokens.token_hash(token), person["id"], tokens.LINK_VALID_FOR
        )
        event = SignInLinkRequested(
            person_id=person["id"],
            display_name=person["display_name"],
            email=person["email"],
            language=person["language"],
            sign_in_token=token,
            valid_until=valid_until,
        )
        await emit(
            conn, event, producer=PRODUCER, correlation_id=correlation_id, aggregate=f"person:{person['id']}"
        )


async def link_page(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    return _link(request, token, await _link_state(request.app[POOL], token))


async def sign_in(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    form = await request.post()
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return _link(request, token, "pending", refused=True)
    session = tokens.new_secret()
    async with request.app[POOL].acquire() as conn, conn.transaction():
        person_id = await store.use_link(conn, tokens.token_hash(token))
        if person_id is not None:
            await store.start_session(conn, tokens.token_hash(session), person_id, tokens.SESSION_LIFETIME)
    if person_id is None:
        return _link(request, token, await _link_state(request.app[POOL], token))
    response = web.Response(status=303, headers={"Location": HOME})
    response.set_cookie(
        tokens.SESSION_COOKIE,
        session,
        path=HOME,
        httponly=True,
        samesite="Lax",
        secure=request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https",
        max_age=int(tokens.SESSION_LIFETIME.total_seconds()),
    )
    return response


async def save_details(request: web.Request) -> web.Response:
    person_id = await _signed_in(request)
    form = {name: str(value) for name, value in (await request.post()).items()}
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return await _own_page(request, person_id, errors={"form": _expired()}, typed=form, status=403)
    checked = details.parse_details(form)
    if isinstance(checked, dict):
        return await _own_page(request, person_id, errors=checked, typed=form, status=422)
    async with request.app[POOL].acquire() as conn, conn.transaction():
        saved = await store.update_details(conn, person_id, checked)
        if saved is None:
            raise web.HTTPSeeOther(HOME)
        await _announce_details(conn, person_id, checked, saved, request_id(request))
        await _withdraw_sms_without_a_number(conn, person_id, checked.phone, request_id(request))
        if saved["phone_before"] != checked.phone:  # a refusal was of the number they had
            await refusals.address_changed(conn, person_id, "sms")
    raise web.HTTPSeeOther(f"{HOME}?saved=details")


async def _announce_details(
    conn: DbConnection, person_id: UUID, checked: details.Details, saved: asyncpg.Record, correlation_id: str
) -> None:
    """Tell notifications (the one binding person.details_changed): the language always, the name
    and phone only if the person asked to be contacted, as only then does it hold them."""
    contact_data = bool(saved["consent_to_contact"])
    event = DetailsChanged(
        person_id=person_id,
        language=checked.language,
        contact_data=contact_data,
        display_name=checked.display_name if contact_data else None,
        phone=checked.phone if contact_data else None,
        changed_at=saved["changed_at"],
    )
    await emit(conn, event, producer=PRODUCER, correlation_id=correlation_id, aggregate=f"person:{person_id}")


async def _withdraw_sms_without_a_number(
    conn: DbConnection, person_id: UUID, phone: str | None, correlation_id: str
) -> None:
    """A number removed takes its SMS consent with it: nothing may be sent to no number."""
    sms = {c for c in await people_store.current_consents(conn, person_id) if c.channel == "sms"}
    if phone is None and sms:
        change = ConsentChange(withdraw=frozenset(sms), method=Method.RESIDENT_PAGE, changed_by=PERSON)
        await change_consent(conn, person_id, change, correlation_id=correlation_id)


async def save_consents(request: web.Request) -> web.Response:
    person_id = await _signed_in(request)
    form = await request.post()
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return await _own_page(request, person_id, errors={"consents": _expired()}, status=403)
    chosen = details.chosen_consents([str(v) for v in form.getall("consent", [])])
    if chosen is None:
        return await _own_page(
            request, person_id, errors={"consents": _("Choose from the boxes listed.")}, status=422
        )
    change = ConsentChange(
        grant=chosen,
        withdraw=frozenset(details.every_consent()) - chosen,
        method=Method.RESIDENT_PAGE,
        changed_by=PERSON,
    )
    try:
        async with request.app[POOL].acquire() as conn, conn.transaction():
            await change_consent(conn, person_id, change, correlation_id=request_id(request))
    except ConsentRefused:
        message = _("Text messages need a phone number: add one to your details first.")
        return await _own_page(request, person_id, errors={"consents": message}, status=422)
    raise web.HTTPSeeOther(f"{HOME}?saved=consents")


async def leave_cop(request: web.Request) -> web.Response:
    """The signed-in person's own membership only: the session names the person, the path the
    CoP (never a member id, which could be someone else's)."""
    person_id = await _signed_in(request)
    form = await request.post()
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return await _own_page(request, person_id, errors={"form": _expired()}, status=403)
    try:
        cop_id = UUID(request.match_info["cop_id"])
    except ValueError:  # no CoP has that id, so they are not a member of it
        raise web.HTTPSeeOther(f"{HOME}?left={NOT_A_MEMBER}") from None
    app = request.app
    left = await changes.leave(app[POOL], cop_id, person_id, app[SERVICE], request_id(request))
    raise web.HTTPSeeOther(f"{HOME}?left={cop_id if left else NOT_A_MEMBER}")


async def download(request: web.Request) -> web.Response:
    person_id = await _signed_in(request)
    document = await export.everything_on(request.app[POOL], request.app[SETTINGS], person_id)
    return web.Response(
        text=json.dumps(document, indent=2, default=str, ensure_ascii=False),
        content_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="my-data.json"',
            "Cache-Control": "no-store",
        },
    )


async def erase_page(request: web.Request) -> web.Response:
    await _signed_in(request)
    return _render(request, "me_erase.html", {})


async def erase(request: web.Request) -> web.Response:
    person_id = await _signed_in(request)
    form = await request.post()
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return _render(request, "me_erase.html", {"refused": True}, status=403)
    async with request.app[POOL].acquire() as conn:
        # Their sessions go with their row: this one ends here.
        await erase_person(conn, person_id, correlation_id=request_id(request))
    response = _render(request, "me_erase.html", {"erased": True})
    response.del_cookie(tokens.SESSION_COOKIE, path=HOME)
    return response


async def sign_out(request: web.Request) -> web.Response:
    await csrf.check_form(request)
    cookie = request.cookies.get(tokens.SESSION_COOKIE)
    if cookie:
        await store.end_session(request.app[POOL], tokens.token_hash(cookie))
    response = web.Response(status=303, headers={"Location": f"{HOME}?signed_out=1"})
    response.del_cookie(tokens.SESSION_COOKIE, path=HOME)
    return response


async def _resident(request: web.Request) -> UUID | None:
    cookie = request.cookies.get(tokens.SESSION_COOKIE)
    if not cookie or len(cookie) > 128:
        return None
    return await store.session_person(request.app[POOL], tokens.token_hash(cookie))


async def _signed_in(request: web.Request) -> UUID:
    """The resident whose session this is; without one, to ``/me`` to ask for a link."""
    person_id = await _resident(request)
    if person_id is None:
        raise web.HTTPSeeOther(HOME)
    return person_id


async def _seconds_to_wait(pool: asyncpg.Pool, request: web.Request, email: str) -> int | None:
    limits = tokens.throttle_keys(email, throttle.client_address(request))
    counted = await accounts_store.count_login_attempt(pool, list(limits), LOGIN_WINDOW_S)
    over = [row["seconds_left"] for row in counted if row["attempts"] > limits[row["key"]]]
    return max(over) if over else None


async def _link_state(pool: asyncpg.Pool, token: str) -> str:
    row = await store.link_state(pool, tokens.token_hash(token))
    if row is None:
        return "unknown"
    return "used" if row["used"] else "expired" if row["expired"] else "pending"


_LINK_STATUS = {"pending": 200, "used": 410, "expired": 410, "unknown": 404}


def _link(request: web.Request, token: str, state: str, *, refused: bool = False) -> web.Response:
    response = _render(
        request,
        "me_sign_in.html",
        {"state": state, "token": token, "refused": refused},
        status=403 if refused else _LINK_STATUS[state],
    )
    # The token is in the URL: keep it out of other sites' logs.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _ask_page(
    request: web.Request,
    *,
    email: str,
    errors: dict[str, str],
    status: int = 200,
    sent_to: str | None = None,
    signed_out: bool = False,
) -> web.Response:
    context = {
        "email": email,
        "errors": errors,
        "sent_to": sent_to,
        "signed_out": signed_out,
        "valid_minutes": int(tokens.LINK_VALID_FOR.total_seconds() // 60),
    }
    return _render(request, "me.html", context, status=status)


async def _own_page(
    request: web.Request,
    person_id: UUID,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    saved: str = "",
    left: str = "",
    status: int = 200,
) -> web.Response:
    pool = request.app[POOL]
    person = await store.person(pool, person_id)
    if person is None:  # erased in another tab: the session went with them
        raise web.HTTPSeeOther(HOME)
    async with pool.acquire() as conn:
        consents = await people_store.current_consents(conn, person_id)
        cops = await community_store.cops_of(conn, person_id)
        requests = await community_store.requests_of(conn, person_id)
        left_topic = await _left_topic(conn, left, {cop["id"] for cop in cops})
        refused = (await refusals.refusals_of(conn, [person_id])).get(person_id, [])
    context = {
        "person": person,
        "typed": typed or {name: person.get(name) or "" for name in details.FIELDS},
        "errors": errors or {},
        "saved": saved,
        "consents": [(label(c), details.consent_name(c), c in consents) for c in details.every_consent()],
        "cops": cops,
        "requests": requests,
        "left_topic": left_topic,
        "not_a_member": left == NOT_A_MEMBER,
        "refused": {refusal.channel: refusal for refusal in refused},
    }
    return _render(request, "me_page.html", context, status=status)


async def _left_topic(conn: DbConnection, left: str, member_of: set[UUID]) -> str | None:
    """The topic of the CoP ``?left=`` names, to say it was left; None when that is not so (an
    unknown id, or one the person is a member of: a link made up to tell them otherwise)."""
    try:
        cop_id = UUID(left)
    except ValueError:
        return None
    row = None if cop_id in member_of else await community_store.cop(conn, cop_id)
    return None if row is None else str(row["topic"])


def _render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    token, cookie = csrf.token(request)
    response = aiohttp_jinja2.render_template(template, request, {**context, "csrf": token}, status=status)
    csrf.set_cookie(response, cookie)
    # A person's own data and links: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _expired() -> str:
    return _("This form had expired. Send it again.")


async def forget_expired(pool: asyncpg.Pool, settings: Settings) -> None:
    """Background loop (relay role): drop links and sessions that no longer open anything."""
    while True:
        stop_if_cancelled()
        try:
            await store.forget_expired(pool)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("could not forget expired resident links and sessions: %s", exc)
        await asyncio.sleep(LOGIN_WINDOW_S)


def add_routes(app: web.Application) -> None:
    app.router.add_get(HOME, me)
    app.router.add_post(HOME, ask_for_link)
    app.router.add_get(_LINK, link_page)
    app.router.add_post(_LINK, sign_in)
    app.router.add_post("/me/details", save_details)
    app.router.add_post("/me/consents", save_consents)
    app.router.add_post("/me/cops/{cop_id}/leave", leave_cop)
    app.router.add_get("/me/download", download)
    app.router.add_get("/me/erase", erase_page)
    app.router.add_post("/me/erase", erase)
    app.router.add_post("/me/sign-out", sign_out)
