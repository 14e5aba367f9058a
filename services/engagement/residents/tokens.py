"""The rules of a resident's sign-in links and sessions, without I/O.

A link is single use and short-lived: it is in a mailbox, where others may read it later. The
session it opens is short too, and separate from organizers' (a cookie of its own): it opens
that one person's page and nothing else."""

import secrets
from datetime import timedelta

from services.engagement.registration import token_hash

__all__ = ["token_hash"]

LINK_VALID_FOR = timedelta(minutes=20)
SESSION_LIFETIME = timedelta(minutes=30)
SESSION_COOKIE = "civic_resident"
# Links asked for per window of the sign-in attempts' table (whose clean-up they share): per
# address typed (not to flood one mailbox) and per client address (not to probe many).
LINKS_PER_ADDRESS = 3
LINKS_PER_CLIENT = 20


def new_secret() -> str:
    """256 random bits, for a link's token and a session's cookie alike."""
    return secrets.token_urlsafe(32)


def throttle_keys(email: str, client: str) -> dict[str, int]:
    """Each rate limit's key, with the links it allows per window."""
    return {
        f"resident-link:email:{email.strip().lower()}": LINKS_PER_ADDRESS,
        f"resident-link:client:{client}": LINKS_PER_CLIENT,
    }
