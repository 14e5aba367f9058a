"""The rate limit on registrations: attempts per client address and fixed window, counted in
the database."""

import asyncio
import ipaddress
import logging

import asyncpg
from aiohttp import web

from services.engagement import store
from shared.cancellation import stop_if_cancelled
from shared.settings import Settings

log = logging.getLogger(__name__)


def client_address(request: web.Request) -> str:
    """Who is registering, for the rate limit. Behind nginx (a loopback peer) it is the last
    X-Forwarded-For hop, the one nginx added; anything before it was written by the client. A
    peer that is not loopback reached the service directly and is the client itself."""
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    try:
        behind_proxy = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        behind_proxy = False
    if behind_proxy and forwarded.strip():
        return forwarded.rsplit(",", 1)[-1].strip()[:64]
    return peer


async def seconds_to_wait(pool: asyncpg.Pool, request: web.Request, settings: Settings) -> int | None:
    """Count this attempt; the seconds until its client may register again when over the limit.

    Counted in the database, not in the process: web replicas behind one proxy share one limit
    (in-process counters would multiply it by the replicas and forget it on every restart)."""
    if settings.registrations_per_client <= 0:
        return None
    row = await store.count_attempt(pool, client_address(request), settings.registration_window_s)
    if row["attempts"] <= settings.registrations_per_client:
        return None
    seconds: int = row["seconds_left"]
    return seconds


async def forget_old_attempts(pool: asyncpg.Pool, settings: Settings) -> None:
    """Background loop (relay role): drop the rate limit's ended windows."""
    while True:
        stop_if_cancelled()
        try:
            await store.forget_attempts(pool, settings.registration_window_s)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("could not forget old registration attempts: %s", exc)
        await asyncio.sleep(settings.registration_window_s)
