"""The demo's places and residents on a database of their own: the pilot's and the coalition's
cities inside their real counties, 300 residents in them with their city's ZIP codes, languages
and tags, registered through the outbox with consent confirmed as the demo people's is, and
loading again changes nothing."""

import asyncpg

from services.engagement import demo
from services.engagement.regions import demo_places

# Where each city is (checked against the counties' own lists of their cities).
COUNTY_OF = {
    "Oakland": "Alameda County, California",
    "Berkeley": "Alameda County, California",
    "Union City": "Alameda County, California",
    "Richmond": "Contra Costa County, California",
    "Antioch": "Contra Costa County, California",
    "Novato": "Marin County, California",
    "Napa": "Napa County, California",
    "San Francisco": "San Francisco County, California",
    "Daly City": "San Mateo County, California",
    "South San Francisco": "San Mateo County, California",
    "San José": "Santa Clara County, California",
    "Milpitas": "Santa Clara County, California",
    "Vallejo": "Solano County, California",
    "Fairfield": "Solano County, California",
    "Petaluma": "Sonoma County, California",
    "Santa Rosa": "Sonoma County, California",
    "Portland": "Multnomah County, Oregon",
    "Indianapolis": "Marion County, Indiana",
}
BAY_AREA = demo.DEMO_GROUPS[0][0]


async def snapshot(conn: asyncpg.Connection) -> tuple[list[tuple[object, ...]], int, int]:
    regions = await conn.fetch("SELECT id, kind, name, parent_id FROM regions ORDER BY id")
    people = await conn.fetchval("SELECT count(*) FROM people")
    events = await conn.fetchval("SELECT count(*) FROM outbox")
    return [tuple(r) for r in regions], people, events


async def test_the_cities_are_inside_their_counties_and_their_residents_in_them_loaded_once(
    fresh_engagement: asyncpg.Pool,
) -> None:
    async with fresh_engagement.acquire() as conn:
        await demo.load(conn)
        await demo.load_regions(conn)
        first = await snapshot(conn)
        await demo.load_regions(conn)
        assert await snapshot(conn) == first  # nothing new, nothing announced again
        assert await demo_places.load(conn) == (0, 0)

        cities = await conn.fetch(
            """SELECT c.name, county.name AS county, c.is_demo FROM regions c
               JOIN regions county ON county.id = c.parent_id
               WHERE c.kind = 'city' AND c.geo_id IS NULL AND county.kind = 'county'"""
        )
        in_bay_area = await conn.fetchval(
            """WITH RECURSIVE inside (id) AS (SELECT id FROM regions WHERE parent_id = $1
                   UNION SELECT r.id FROM regions r JOIN inside ON r.parent_id = inside.id)
               SELECT count(*) FROM regions JOIN inside USING (id) WHERE kind = 'city'""",
            BAY_AREA,
        )
        residents = await conn.fetch(
            """SELECT p.id, p.display_name, p.language, p.postal_code, p.tags, p.consent_to_contact,
                      p.consent_confirmed_at, r.name AS region, r.kind
               FROM people p JOIN regions r ON r.id = p.region_id
               WHERE p.is_demo AND p.email LIKE 'resident-%@demo.invalid'"""
        )
        registered = await conn.fetchval(
            """SELECT count(DISTINCT payload->'data'->>'person_id') FROM outbox
               WHERE payload->>'type' = 'person.registered'
                 AND (payload->'data'->>'person_id')::uuid = ANY($1::uuid[])""",
            [r["id"] for r in residents],
        )

    by_city = {r["name"].removeprefix("Demo: "): r["county"] for r in cities}
    assert len(by_city) == 32 and all(r["is_demo"] for r in cities)
    assert {city: by_city[city] for city in COUNTY_OF} == COUNTY_OF
    assert in_bay_area == 30  # the coalition's cities; Portland and Indianapolis are elsewhere

    assert len(residents) == 300 and registered == 300
    zips = {f"Demo: {name}": set(codes) for name, _, codes, _ in demo_places.CITIES}
    for resident in residents:
        if resident["kind"] == "city":
            assert resident["postal_code"] in zips[resident["region"]], resident
        assert resident["display_name"].startswith("Demo: ") and resident["tags"]
        assert (resident["consent_confirmed_at"] is not None) == resident["consent_to_contact"]
    assert {r["language"] for r in residents} == {"en", "es"}
    assert sum(r["kind"] == "county" for r in residents) == 45  # New York City's, in their boroughs
    assert len({r["display_name"] for r in residents}) > 100  # names vary, not one repeated
    assert any("manufacturing" in r["tags"] for r in residents if r["region"] == "Demo: Oakland")


def test_the_residents_are_the_same_every_time() -> None:
    boroughs = {geo_id: demo_places.city_id(geo_id) for geo_id, _, _ in demo_places.BOROUGHS}
    assert demo_places.residents(boroughs) == demo_places.residents(dict(boroughs))
    assert len({r.id for r in demo_places.residents(boroughs)}) == 300
