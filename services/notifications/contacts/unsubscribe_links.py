"""The signed link in a campaign message: whoever holds it may stop that purpose's messages to
the person on that channel, and see their preferences, without an account. The signature is an
HMAC-SHA256 under the deployment's secret (``CIVIC_NOTICE_SECRET``), so a link cannot be made
for anyone else; it names only a person id, never an address."""

import hashlib
import hmac
from typing import NamedTuple
from uuid import UUID

from shared.contracts import Channel, Purpose
from shared.settings import Settings

PURPOSES: tuple[Purpose, ...] = ("meetings", "surveys", "campaign_news", "research_demographics")
CHANNELS: tuple[Channel, ...] = ("email", "sms")


class LinkFor(NamedTuple):
    person_id: UUID
    channel: Channel
    purpose: Purpose


def signing_key(settings: Settings) -> str:
    """CIVIC_NOTICE_SECRET, or one derived from the serving role's database URL (it holds the
    role's password, kept in the deployment's .env): secret, and the same for every replica."""
    if settings.notice_secret:
        return settings.notice_secret
    return hashlib.sha256(b"civic notice links\0" + settings.database_url.encode()).hexdigest()


def _signature(secret: str, person_id: UUID, channel: str, purpose: str) -> str:
    message = f"unsubscribe\0{person_id}\0{channel}\0{purpose}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def token(secret: str, link: LinkFor) -> str:
    return ".".join((str(link.person_id), link.channel, link.purpose, _signature(secret, *link)))


def read(secret: str, value: str) -> LinkFor | None:
    """What a token is for, or None when it is not one this deployment signed."""
    parts = value.split(".")
    if len(parts) != 4:
        return None
    person, channel, purpose, signature = parts
    try:
        person_id = UUID(person)
    except ValueError:
        return None
    if channel not in CHANNELS or purpose not in PURPOSES:
        return None
    if not hmac.compare_digest(signature, _signature(secret, person_id, channel, purpose)):
        return None
    return LinkFor(person_id, channel, purpose)
