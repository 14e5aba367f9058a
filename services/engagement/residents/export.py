"""All the platform holds on a person, as one document: engagement's part read here, surveys'
and notifications' asked of their internal endpoints on this machine (engagement never reads
their tables). A part that does not answer is named as missing, never left out silently."""

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg

from services.engagement.community import store as community_store
from services.engagement.people import refusals
from services.engagement.people import store as people_store
from services.engagement.residents import store
from shared.settings import Settings

OTHER_SERVICES = ("surveys", "notifications")
ASK_FOR_S = 5.0


async def everything_on(pool: asyncpg.Pool, settings: Settings, person_id: UUID) -> dict[str, Any]:
    engagement = await _engagement_part(pool, person_id)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ASK_FOR_S)) as http:
        answers = await asyncio.gather(*(_ask(http, settings, name, person_id) for name in OTHER_SERVICES))
    parts = {"engagement": engagement, **dict(zip(OTHER_SERVICES, answers, strict=True))}
    missing = [name for name, part in parts.items() if part is None]
    return {
        "person_id": str(person_id),
        "exported_at": datetime.now(UTC).isoformat(),
        "complete": not missing,
        "missing": missing,
        "services": parts,
    }


async def _engagement_part(pool: asyncpg.Pool, person_id: UUID) -> dict[str, Any]:
    history = await people_store.consent_history(pool, person_id)
    return {
        "person": await store.person(pool, person_id),
        "consent_history": [dict(row) for row in history],
        "cop_memberships": [dict(row) for row in await community_store.cops_of(pool, person_id)],
        "cop_join_requests": [dict(row) for row in await community_store.requests_of(pool, person_id)],
        **await store.links_and_confirmations(pool, person_id),
        "sessions": await store.sessions(pool, person_id),
        "meeting_registrations": await store.meeting_registrations(pool, person_id),
        "competition_applications": await store.competition_applications(pool, person_id),
        "address_refusals": await refusals.held_on(pool, person_id),
    }


async def _ask(
    http: aiohttp.ClientSession, settings: Settings, service: str, person_id: UUID
) -> dict[str, Any] | None:
    url = f"http://{settings.host}:{settings.port_of(service)}/internal/people/{person_id}"
    try:
        async with http.get(url) as response:
            if response.status != 200:
                return None
            answer: dict[str, Any] = await response.json()
            return answer
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
