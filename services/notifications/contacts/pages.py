"""The signed link of a campaign message: the one-click unsubscribe a mail provider POSTs
(RFC 8058: ``List-Unsubscribe=One-Click`` in the body, no cookie, no form token: the signature
is the authority), and the person's preferences page behind the same link (no account, no
JavaScript; its form carries a CSRF token)."""

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from services.notifications.contacts import preferences, store
from services.notifications.contacts.unsubscribe_links import LinkFor, read, signing_key
from shared import csrf
from shared.http import POOL, SETTINGS
from shared.i18n import gettext_ as _

# The signed link's token (person id, channel, purpose, signature), as a route's pattern.
_TOKEN = r"{token:[0-9a-f-]{36}\.[a-z]+\.[a-z_]+\.[0-9a-f]{32}}"  # noqa: S105 - not a password


def _link(request: web.Request) -> LinkFor:
    link = read(signing_key(request.app[SETTINGS]), request.match_info["token"])
    if link is None:
        raise web.HTTPNotFound()
    return link


def purpose_name(purpose: str) -> str:
    return {
        "meetings": _("meetings and webinars"),
        "surveys": _("surveys"),
        "campaign_news": _("campaign news"),
        "research_demographics": _("research"),
    }[purpose]


def _messages() -> dict[str, str]:
    return {
        "quiet_start": _("Enter a time of day such as 21:00, or leave both times empty."),
        "quiet_end": _("Enter a time of day such as 08:00, or leave both times empty."),
        "time_zone": _("Enter a time zone name such as America/Los_Angeles."),
        "form": _("This form had expired. Send it again."),
    }


async def _page(
    request: web.Request, link: LinkFor, typed: dict[str, str], errors: dict[str, str], status: int = 200
) -> web.Response:
    token, cookie = csrf.token(request)
    context: dict[str, Any] = {
        "csrf": token,
        "token": request.match_info["token"],
        "purpose": purpose_name(link.purpose),
        "channel": _("e-mail") if link.channel == "email" else _("text message"),
        "choices": await store.choices(request.app[POOL], link),
        "typed": typed,
        "errors": errors,
        "saved": "saved" in request.query,
        "stopped": "stopped" in request.query,
    }
    response = aiohttp_jinja2.render_template("preferences.html", request, context, status=status)
    csrf.set_cookie(response, cookie)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the page's address is its key
    return response


async def preferences_page(request: web.Request) -> web.Response:
    link = _link(request)
    choices = await store.choices(request.app[POOL], link)
    typed = {
        "quiet_start": choices.quiet_start.strftime("%H:%M") if choices.quiet_start else "",
        "quiet_end": choices.quiet_end.strftime("%H:%M") if choices.quiet_end else "",
        "time_zone": choices.time_zone or "",
    }
    return await _page(request, link, typed, {})


async def one_click(request: web.Request) -> web.Response:
    """RFC 8058: the provider POSTs ``List-Unsubscribe=One-Click``; anything else is refused."""
    link = _link(request)
    form = await request.post()
    if form.get("List-Unsubscribe") != "One-Click":
        raise web.HTTPBadRequest(text="expected List-Unsubscribe=One-Click")
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await store.unsubscribe(conn, link, "one_click")
    return web.Response(text="unsubscribed\n")


async def save_preferences(request: web.Request) -> web.Response:
    link = _link(request)
    form = await request.post()
    typed = {name: str(form.get(name, "")) for name in ("quiet_start", "quiet_end", "time_zone")}
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        return await _page(request, link, typed, {"form": _messages()["form"]}, 422)
    window, faults = preferences.quiet_hours(typed)
    if window is None:
        messages = _messages()
        return await _page(request, link, typed, {name: messages[name] for name in faults}, 422)
    receiving = form.get("receiving") == "yes"
    async with request.app[POOL].acquire() as conn, conn.transaction():
        if receiving:
            await store.resubscribe(conn, link)
        else:
            await store.unsubscribe(conn, link, "preferences")
        await store.set_quiet_hours(conn, link, *window)
    raise web.HTTPSeeOther(f"/notifications/u/{request.match_info['token']}?saved=1")


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"/notifications/u/{_TOKEN}", preferences_page)
    app.router.add_post(f"/notifications/u/{_TOKEN}", one_click)
    app.router.add_post(f"/notifications/u/{_TOKEN}/preferences", save_preferences)
