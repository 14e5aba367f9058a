"""CSRF tokens for every form on the three services.

Signed in, the token is derived from the session cookie (a hash under a label of its own, so
it is not the hash engagement stores): any service can compute it without a shared secret, a
page of another site cannot (the cookie is HttpOnly), and it changes when the session does
(at sign-in). Not signed in (the sign-in page, a consent link), it is a double-submit cookie of
its own, ``SameSite=Strict``: the form's field must equal the cookie, which another site can
neither read nor set.
"""

import hashlib
import hmac
import secrets

from aiohttp import web

from shared.auth import SESSION_COOKIE

FIELD = "csrf"
COOKIE = "civic_csrf"


def _from_session(session: str) -> str:
    return hashlib.sha256(b"civic csrf\0" + session.encode()).hexdigest()


def token(request: web.Request) -> tuple[str, str | None]:
    """The token to put in a form, and the cookie value to set with the page (None when the
    session's or the request's own cookie serves)."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return _from_session(session), None
    existing = request.cookies.get(COOKIE)
    if existing:
        return existing, None
    fresh = secrets.token_urlsafe(32)
    return fresh, fresh


def set_cookie(response: web.StreamResponse, value: str | None) -> None:
    if value is not None:
        response.set_cookie(COOKIE, value, path="/", httponly=True, samesite="Strict")


def is_valid(request: web.Request, submitted: object) -> bool:
    session = request.cookies.get(SESSION_COOKIE)
    expected = _from_session(session) if session else request.cookies.get(COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected.encode(), str(submitted or "").encode())


async def check_form(request: web.Request) -> None:
    """403 when the posted form's token is missing or wrong."""
    form = await request.post()
    if not is_valid(request, form.get(FIELD)):
        raise web.HTTPForbidden(reason="Form expired or forged")
