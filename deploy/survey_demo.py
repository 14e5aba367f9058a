"""The demo's surveys, loaded once the platform runs (services/surveys/demo/ says why then):
wait until surveys holds the demo's regions, which engagement's events bring within seconds of
the start, then load through the submission path."""

import asyncio
import time

import asyncpg

from services.engagement import demo
from services.engagement.decisions import store as decisions_store
from services.engagement.regions import demo_places
from services.surveys import demo as survey_demo
from services.surveys.app import SPEC as SURVEYS
from shared import demo_ids
from shared.settings import Settings

REGIONS_WAIT_S = 90.0
RESPONSES_WAIT_S = 60.0


def owners() -> survey_demo.Owners:
    return survey_demo.Owners(
        initiative=demo.organisation_id_of(demo.DEMO_ORGANISATIONS[1][0]),
        bay_area=demo.DEMO_GROUPS[0][0],
        campaign=demo.DEMO_CAMPAIGN_ID,
        land_use_organisation=demo.organisation_id_of(demo.DEMO_ORGANISATIONS[0][0]),
        portland=demo_places.city_id("Portland"),
    )


async def load(settings: Settings) -> int:
    """How many demo responses were new; SystemExit when the regions never arrived."""
    wanted = owners()
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": SURVEYS.name})
    try:
        deadline = time.monotonic() + REGIONS_WAIT_S
        while not await survey_demo.regions_known(conn, wanted.bay_area, wanted.portland):
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"the demo's regions had not reached surveys after {REGIONS_WAIT_S:.0f}s: "
                    "see the engagement relay's and the surveys consumer's logs"
                )
            await asyncio.sleep(0.5)
        loaded = await survey_demo.load(conn, wanted)
    finally:
        await conn.close()
    await finish_decision(settings)
    return loaded


async def finish_decision(settings: Settings) -> None:
    """Record the demo's rezoning decision once engagement has the Northside survey's responses
    (released by surveys and announced a few seconds after loading); left in consultation, for
    the next run to finish, if they are slower than RESPONSES_WAIT_S."""
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": "engagement"})
    try:
        deadline = time.monotonic() + RESPONSES_WAIT_S
        survey_id = demo_ids.survey_id(survey_demo.NORTHSIDE.slug)
        while await decisions_store.responses_to(conn, survey_id) < survey_demo.NORTHSIDE.responses:
            if time.monotonic() > deadline:
                print(
                    "the demo's Northside responses had not reached engagement: its decision waits",
                    flush=True,
                )
                return
            await asyncio.sleep(0.5)
        await demo.finish_decisions(conn)
    finally:
        await conn.close()
