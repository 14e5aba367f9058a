"""Regions reach surveys: engagement publishes ``region.baselines_published`` in the transaction
of any change to a region, its parent, its ZIP regions or its baselines (the API and console's
writes, an import, the demo), the regions above it too when their ZIP lists change, and nothing
when nothing changed; surveys keeps the newest description of each region and refuses an older one.
Against the real PostgreSQL and RabbitMQ."""

import random
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.engagement import demo
from services.engagement.regions import demo_places
from services.engagement.regions.importing import import_baselines, read_files
from services.surveys.app import SPEC as SURVEYS
from services.surveys.regions import REGIONS, on_regions_published
from shared.auth import ACCOUNT_HEADER
from shared.bus import Bus
from shared.consumer import Consumer
from shared.contracts import BaselineFigure, Envelope, RegionBaselinesPublished
from shared.outbox import OutboxRelay
from shared.runtime import declare_topology
from shared.settings import Settings
from tests import test_accounts
from tests.support.waiting import eventually
from tests.test_organisations import as_, unique

engagement = test_accounts.engagement

ACS = Path(__file__).resolve().parent.parent / "data" / "acs"
INCOME = ACS / "ACSDT5Y2024.B19001-Data.target-counties.csv"
TENURE = ACS / "ACSDT5Y2024.B25003-Data.target-counties.csv"
ALAMEDA = "0500000US06001"
ADMIN = as_("admin")


async def published(pool: asyncpg.Pool, region_id: object) -> list[dict[str, Any]]:
    """The events about a region in engagement's outbox, oldest first, with their sequence."""
    rows = await pool.fetch(
        """SELECT payload FROM outbox WHERE aggregate = $1 AND routing_key = 'region.baselines_published'
           ORDER BY (payload->>'sequence')::int""",
        f"region:{region_id}",
    )
    return [Envelope.model_validate(r["payload"]).model_dump(mode="json") for r in rows]


async def a_region(client: TestClient, name: str, parent_id: str | None = None) -> str:
    created = await client.post(
        "/api/v1/regions", json={"name": name, "kind": "area", "parent_id": parent_id}, headers=ADMIN
    )
    assert created.status == 201, await created.text()
    return str((await created.json())["id"])


async def a_zip_region(pool: asyncpg.Pool) -> tuple[str, str]:
    """A ZIP region as an import of ZIP tables brings it (not through the API: it has a GEO_ID),
    of a ZIP code in 00100-00999, which no other test or the demo uses; its id and ZIP code."""
    while True:
        code = f"{random.randint(100, 999):05d}"
        region_id = await pool.fetchval(
            """INSERT INTO regions (kind, name, geo_id) VALUES ('zip', $1, $2)
               ON CONFLICT (geo_id) DO NOTHING RETURNING id""",
            f"ZIP {code}",
            f"860Z200US{code}",
        )
        if region_id is not None:
            return str(region_id), code


async def move(client: TestClient, region_id: str, name: str, kind: str, parent_id: str | None) -> int:
    moved = await client.put(
        f"/api/v1/regions/{region_id}",
        json={"name": name, "kind": kind, "parent_id": parent_id},
        headers=ADMIN,
    )
    return moved.status


async def test_a_region_edit_publishes_it_and_every_region_above_whose_zip_codes_changed(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    name = unique("Corridor")
    outer = await a_region(engagement, name)
    inner = await a_region(engagement, f"{name} west", outer)
    other = await a_region(engagement, f"{name} east")
    [created] = await published(pool, inner)
    assert created["data"] == {
        "region_id": inner,
        "name": f"{name} west",
        "kind": "area",
        "parent_id": outer,
        "zip_codes": [],
        "figures": [],
    }
    assert created["producer"] == "engagement" and created["actor"] == f"account:{ADMIN[ACCOUNT_HEADER]}"
    assert len(await published(pool, outer)) == 1  # created; nothing inside it changed its ZIPs

    zip_id, code = await a_zip_region(pool)
    assert await move(engagement, zip_id, f"ZIP {code}", "zip", inner) == 200
    assert [e["data"]["zip_codes"] for e in await published(pool, outer)] == [[], [code]]
    assert [e["data"]["zip_codes"] for e in await published(pool, inner)] == [[], [code]]
    assert [e["data"]["zip_codes"] for e in await published(pool, zip_id)] == [[code]]
    assert len(await published(pool, other)) == 1

    # Moved elsewhere: its old parents lose the code, its new one gains it.
    assert await move(engagement, zip_id, f"ZIP {code}", "zip", other) == 200
    assert (await published(pool, outer))[-1]["data"]["zip_codes"] == []
    assert (await published(pool, inner))[-1]["data"]["zip_codes"] == []
    assert (await published(pool, other))[-1]["data"]["zip_codes"] == [code]
    assert [e["sequence"] for e in await published(pool, zip_id)] == [1, 2]

    # Renamed: only itself (its parent's ZIP list is the same).
    assert await move(engagement, inner, f"{name} west side", "area", outer) == 200
    assert (await published(pool, inner))[-1]["data"]["name"] == f"{name} west side"
    assert len(await published(pool, outer)) == 3


async def test_a_refused_change_publishes_nothing_and_changes_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    name = unique("Loop")
    outer = await a_region(engagement, name)
    inner = await a_region(engagement, f"{name} inner", outer)
    before = {r: await published(pool, r) for r in (outer, inner)}
    assert await move(engagement, outer, name, "area", inner) == 422  # inside itself
    assert await move(engagement, inner, f"{name} elsewhere", "area", str(uuid.uuid4())) == 422
    assert {r: await published(pool, r) for r in (outer, inner)} == before
    assert await pool.fetchval("SELECT name FROM regions WHERE id = $1", uuid.UUID(inner)) == f"{name} inner"


async def test_an_import_publishes_each_region_with_its_newest_figures_once_and_a_failed_one_nothing(
    fresh_engagement: asyncpg.Pool,
) -> None:
    class Abort(Exception):
        pass

    async with fresh_engagement.acquire() as conn:
        with pytest.raises(Abort):
            async with conn.transaction():
                await import_baselines(conn, read_files([TENURE]))
                raise Abort
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
        assert await conn.fetchval("SELECT count(*) FROM regions") == 0

        await import_baselines(conn, read_files([TENURE]), correlation_id="req-1", actor="account:x")
        alameda = await conn.fetchval("SELECT id FROM regions WHERE geo_id = $1", ALAMEDA)
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 16
        [tenure] = await published(fresh_engagement, alameda)
        assert tenure["correlation_id"] == "req-1" and tenure["actor"] == "account:x"
        assert tenure["data"]["figures"] == [
            {"dimension": "tenure", "band": "total", "estimate": 598246.0},
            {"dimension": "tenure", "band": "owner", "estimate": 325509.0},
            {"dimension": "tenure", "band": "renter", "estimate": 272737.0},
        ]

        await import_baselines(conn, read_files([TENURE]))
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 16  # the same figures again

        # An older source of a dimension is not its baseline: the newest year's figures are.
        await conn.execute(
            """INSERT INTO baselines (region_id, dimension, band, estimate, source_table, source_year)
               VALUES ($1, 'tenure', 'total', 1, 'B25003', 2019)""",
            alameda,
        )
        await import_baselines(conn, read_files([INCOME]))
        both = (await published(fresh_engagement, alameda))[-1]["data"]["figures"]
    assert {(f["dimension"], f["band"]) for f in both} >= {("tenure", "total"), ("household_income", "total")}
    assert len(both) == 3 + 8
    assert {"dimension": "tenure", "band": "total", "estimate": 598246.0} in both


async def test_the_demo_publishes_its_regions_with_their_zip_codes_and_loading_again_nothing(
    fresh_engagement: asyncpg.Pool,
) -> None:
    async with fresh_engagement.acquire() as conn:
        await demo.load(conn)
        await demo.load_regions(conn)
        await demo.load_community(conn)
        await demo.load_campaigns(conn)
        events = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE routing_key = 'region.baselines_published'"
        )
        regions = await conn.fetchval("SELECT count(*) FROM regions")
        await demo.load_regions(conn)
        await demo.load_campaigns(conn)
        again = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE routing_key = 'region.baselines_published'"
        )
        alameda = await conn.fetchval("SELECT id FROM regions WHERE geo_id = $1", ALAMEDA)
        oakland = await conn.fetchval("SELECT id FROM regions WHERE name = 'Demo: Oakland'")
    assert again == events
    newest = {
        key: (await published(fresh_engagement, region_id))[-1]["data"]
        for key, region_id in (("bay", demo.DEMO_GROUPS[0][0]), ("alameda", alameda), ("oakland", oakland))
    }
    described = await fresh_engagement.fetch(
        "SELECT DISTINCT aggregate FROM outbox WHERE routing_key = 'region.baselines_published'"
    )
    assert len(described) == regions  # every region of the demo, counties, groups, cities, ZIPs
    bay_area_counties = set(demo.DEMO_GROUPS[0][3])
    assert newest["bay"]["zip_codes"] == sorted(
        code for _, county, zips, _ in demo_places.CITIES if county in bay_area_counties for code in zips
    )
    assert newest["alameda"]["zip_codes"] == sorted(
        code for _, county, zips, _ in demo_places.CITIES if county == ALAMEDA for code in zips
    )
    assert newest["oakland"]["zip_codes"] == sorted(dict((c[0], c[2]) for c in demo_places.CITIES)["Oakland"])
    assert newest["alameda"]["parent_id"] == str(demo.DEMO_GROUPS[0][0])
    assert {f["dimension"] for f in newest["alameda"]["figures"]} == {"household_income", "tenure"}
    assert newest["oakland"]["parent_id"] == str(alameda)


def description(
    region_id: uuid.UUID, name: str, zips: tuple[str, ...], renters: float
) -> RegionBaselinesPublished:
    return RegionBaselinesPublished(
        region_id=region_id,
        name=name,
        zip_codes=zips,
        figures=(
            BaselineFigure(dimension="tenure", band="total", estimate=renters * 2),
            BaselineFigure(dimension="tenure", band="renter", estimate=renters),
        ),
    )


def envelope(event: RegionBaselinesPublished, sequence: int) -> Envelope:
    return Envelope.wrap(
        event, producer="engagement", aggregate=f"region:{event.region_id}", sequence=sequence
    )


async def held(pool: asyncpg.Pool, region_id: uuid.UUID) -> tuple[Any, dict[str, float]]:
    region = await pool.fetchrow("SELECT name, zip_codes FROM regions WHERE id = $1", region_id)
    figures = await pool.fetch("SELECT band, estimate FROM region_baselines WHERE region_id = $1", region_id)
    return (None if region is None else tuple(region)), {f["band"]: float(f["estimate"]) for f in figures}


async def test_surveys_keeps_the_newest_description_and_refuses_an_older_one(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    region_id = uuid.uuid4()

    async def apply(*events: tuple[RegionBaselinesPublished, int]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await on_regions_published(conn, [(e, envelope(e, n)) for e, n in events])

    await apply((description(region_id, "Fruitvale", ("94601",), 100), 2))
    assert await held(pool, region_id) == (("Fruitvale", ["94601"]), {"total": 200, "renter": 100})
    await apply((description(region_id, "Old name", ("94602",), 5), 1))  # arrived late: refused
    assert await held(pool, region_id) == (("Fruitvale", ["94601"]), {"total": 200, "renter": 100})
    # A run with two of one region: the later of the two is what stays; a band gone goes.
    newer = RegionBaselinesPublished(region_id=region_id, name="Fruitvale district", zip_codes=())
    await apply((description(region_id, "Between", (), 7), 3), (newer, 4))
    assert await held(pool, region_id) == (("Fruitvale district", []), {})


async def test_a_region_created_in_engagement_reaches_surveys_over_the_bus(
    engagement: TestClient,
    settings: Settings,
    bus: Bus,
    pools: dict[str, asyncpg.Pool],
    background: Callable[[Awaitable[None]], Any],
) -> None:
    await declare_topology(bus, SURVEYS.subscriptions)
    assert REGIONS in SURVEYS.subscriptions
    name = unique("Harbour district")
    outer = await a_region(engagement, name)
    zip_id, code = await a_zip_region(pools["engagement"])
    assert await move(engagement, zip_id, f"ZIP {code}", "zip", outer) == 200
    background(OutboxRelay(pools["engagement"], bus, "engagement", settings).run())
    background(Consumer(bus, pools["surveys"], REGIONS, settings).run())
    found = await eventually(
        lambda: pools["surveys"].fetchrow(
            "SELECT name, zip_codes FROM regions WHERE id = $1", uuid.UUID(outer)
        ),
        lambda row: row is not None and row["zip_codes"] == [code],
    )
    assert found is not None and found["name"] == name
    inside = await eventually(
        lambda: pools["surveys"].fetchval("SELECT parent_id FROM regions WHERE id = $1", uuid.UUID(zip_id)),
        lambda parent: parent is not None,
    )
    assert str(inside) == outer
