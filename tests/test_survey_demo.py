"""The demo's surveys load through the submission path, place their responses in the cities
surveys knows by ZIP code, and load once."""

import uuid

import asyncpg

from services.surveys import demo
from services.surveys.answering.release import release_due


async def a_region(pool: asyncpg.Pool, parent: uuid.UUID | None, zip_codes: list[str]) -> uuid.UUID:
    region = uuid.uuid4()
    await pool.execute(
        "INSERT INTO regions (id, name, parent_id, zip_codes) VALUES ($1, $2, $3, $4)",
        region,
        f"Place {region.hex[:6]}",
        parent,
        zip_codes,
    )
    return region


async def test_the_demo_surveys_are_answered_across_their_cities_and_load_once(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    await pool.execute("DELETE FROM surveys WHERE slug = ANY($1)", [demo.DREAM.slug, demo.NORTHSIDE.slug])
    cities = [[f"9{n:02d}{z}0" for z in range(3)] for n in range(30)]
    bay_area = await a_region(pool, None, [code for city in cities for code in city])
    city_ids = [await a_region(pool, bay_area, city) for city in cities]
    portland = await a_region(pool, None, ["97214", "97211"])
    owners = demo.Owners(uuid.uuid4(), bay_area, uuid.uuid4(), uuid.uuid4(), portland)
    async with pool.acquire() as conn:
        assert await demo.regions_known(conn, bay_area, portland)
        assert await demo.load(conn, owners) == demo.DREAM.responses + demo.NORTHSIDE.responses
        assert await demo.load(conn, owners) == 0

    dream = await pool.fetchrow("SELECT * FROM surveys WHERE slug = $1", demo.DREAM.slug)
    assert (dream["status"], dream["mode"], dream["campaign_id"]) == ("open", "confidential", owners.campaign)
    placed = await pool.fetch(
        "SELECT region_id, count(*) FROM responses WHERE survey_id = $1 GROUP BY region_id", dream["id"]
    )
    assert {row["region_id"] for row in placed} == set(city_ids)  # every city answered, nothing unplaced
    assert (
        await pool.fetchval("SELECT responses FROM survey_totals WHERE survey_id = $1", dream["id"])
        == demo.DREAM.responses
    )

    northside = await pool.fetchrow("SELECT * FROM surveys WHERE slug = $1", demo.NORTHSIDE.slug)
    assert (
        await pool.fetchval("SELECT count(*) FROM anonymous_pending WHERE survey_id = $1", northside["id"])
        == demo.NORTHSIDE.responses
    )
    await release_due(pool)
    released = await pool.fetch("SELECT * FROM responses WHERE survey_id = $1", northside["id"])
    assert len(released) == demo.NORTHSIDE.responses
    assert {row["region_id"] for row in released} == {portland}
    assert all(row["submitted_at"] is None for row in released)
