"""The platform as a whole: its services and the one-off preparation before they start."""

import asyncpg

from services.engagement import demo
from services.engagement.app import SPEC as ENGAGEMENT
from services.notifications.app import SPEC as NOTIFICATIONS
from services.surveys.app import SPEC as SURVEYS
from shared.bus import Bus
from shared.db import ensure_database, migration_url
from shared.runtime import ServiceSpec, apply_migrations, declare_topology
from shared.settings import Settings

SERVICES: list[ServiceSpec] = [ENGAGEMENT, SURVEYS, NOTIFICATIONS]


async def prepare(settings: Settings, *, demo_data: bool = True) -> dict[str, int]:
    """Database, migrations, queues, demo data. Safe to run again: nothing is done twice."""
    await ensure_database(migration_url(settings))
    applied = {spec.name: len(await apply_migrations(spec, settings)) for spec in SERVICES}
    bus = Bus(settings, name="prepare")
    await bus.connect()
    try:
        for spec in SERVICES:
            await declare_topology(bus, spec.subscriptions)
    finally:
        await bus.close()
    if demo_data:
        # As the serving role, through the same code path as a registration: demo people arrive
        # the way a user's would, and loading them proves that role's grants suffice.
        conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": ENGAGEMENT.name})
        try:
            applied["demo_people"] = await demo.load(conn)
            applied["demo_regions"] = await demo.load_regions(conn)
            applied["demo_community"] = await demo.load_community(conn)
            applied["demo_campaigns"] = await demo.load_campaigns(conn)
            applied["demo_meetings"] = await demo.load_meetings(conn)
            applied["demo_decisions"] = await demo.load_decisions(conn)
        finally:
            await conn.close()
    return applied
