"""An invitation's secret: a random token that travels once, in ``invitation.issued`` to
notifications and from there in the link mailed to the invitee; surveys keeps only its SHA-256,
so a copy of the surveys schema opens no survey in anyone's name. 32 random bytes: guessing one
is out of reach, and SHA-256 without a salt or slow hash is enough for a secret that strong
(a salt and many rounds protect guessable secrets such as passwords)."""

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def link_path(slug: str, token: str) -> str:
    """Where the invitee answers, under the platform's public address (notifications adds it)."""
    return f"/surveys/s/{slug}?invitation={token}"
