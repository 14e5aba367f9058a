"""English and Spanish pages: gettext catalogs (.po) read with babel, and the language chosen
per request from ?lang=, then the ``lang`` cookie, then Accept-Language."""

import gettext
import io
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from aiohttp import web
from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
language_var: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> gettext.NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=Locale.parse(language))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_(message: str) -> str:
    return translations(language_var.get()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return translations(language_var.get()).ngettext(singular, plural, n)


def choose_language(request: web.Request) -> str:
    for candidate in (request.query.get("lang"), request.cookies.get("lang")):
        if candidate in LANGUAGES:
            return candidate
    accepted = [
        part.split(";")[0].strip().replace("-", "_")
        for part in request.headers.get("Accept-Language", "").split(",")
        if part.strip()
    ]
    return negotiate_locale(accepted, list(LANGUAGES)) or DEFAULT_LANGUAGE


async def language_context(request: web.Request) -> dict[str, str]:
    """For the templates: the page's language, and the link to the same page in the other one.
    The link is a query alone (a relative reference keeps the path) and keeps the page's other
    parameters: switching language must not lose what the reader was looking at."""
    language = language_var.get()
    other = next(candidate for candidate in LANGUAGES if candidate != language)
    return {
        "language": language,
        "switch_language": "?" + request.rel_url.update_query(lang=other).raw_query_string,
    }


@web.middleware
async def language_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    language = choose_language(request)
    token = language_var.set(language)
    try:
        response = await handler(request)
    finally:
        language_var.reset(token)
    if request.query.get("lang") == language:
        response.set_cookie("lang", language, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response
