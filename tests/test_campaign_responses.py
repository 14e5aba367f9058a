"""Responses reach the campaign page: engagement counts surveys' ``response.submitted`` per
campaign, region and demographic band, once per event however often it is delivered, and the
campaign's page and API show how many responded and who, against the audience's population,
naming the most under-represented groups, in English and Spanish. Against the real PostgreSQL
and RabbitMQ; the band rules without them."""

import random
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.engagement.app import SPEC as ENGAGEMENT
from services.engagement.campaigns.responses import RESPONSES, band_of, on_responses_submitted, zip_of
from shared.bus import Bus
from shared.consumer import CONSUMED, Consumer
from shared.contracts import Envelope, ResponseSubmitted
from shared.runtime import declare_topology
from shared.settings import Settings
from tests import test_accounts
from tests.support.waiting import eventually
from tests.test_campaigns import a_zip, an_organisation, draft
from tests.test_organisations import ADMIN, unique

engagement = test_accounts.engagement


def test_a_response_counts_in_one_band_per_dimension_as_the_census_counts_people() -> None:
    assert band_of("tenure", ["renter"]) == "renter"
    assert band_of("race_ethnicity", ["asian"]) == "asian"
    assert band_of("race_ethnicity", ["white", "hispanic_latino"]) == "hispanic_latino"  # of any race
    assert band_of("race_ethnicity", ["white", "black"]) == "two_or_more"
    assert band_of("race_ethnicity", ["white", "white"]) == "white"
    assert band_of("tenure", ["owner", "renter"]) is None  # a single choice given twice: not counted
    assert band_of("tenure", []) is None
    assert band_of("tenure", ["yacht"]) is None  # not one of its bands
    assert band_of("shoe_size", ["owner"]) is None  # not a dimension
    assert (zip_of("94607"), zip_of("94607-1234"), zip_of("SW1A"), zip_of(None)) == (
        "94607",
        "94607",
        None,
        None,
    )


def response(campaign_id: uuid.UUID | None, **fields: Any) -> ResponseSubmitted:
    return ResponseSubmitted(
        response_id=uuid.uuid4(),
        survey_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        survey_version=1,
        mode="anonymous",
        campaign_id=campaign_id,
        **fields,
    )


async def counted(pool: asyncpg.Pool, campaign_id: uuid.UUID) -> tuple[int, dict[tuple[str, str], int]]:
    total = await pool.fetchval(
        "SELECT coalesce(sum(responses), 0) FROM campaign_responses WHERE campaign_id = $1", campaign_id
    )
    bands = await pool.fetch(
        "SELECT dimension, band, responses FROM campaign_response_bands WHERE campaign_id = $1", campaign_id
    )
    return total, {(b["dimension"], b["band"]): b["responses"] for b in bands}


def settled() -> float:
    """The messages the responses consumer has taken and settled, counted or found to be copies."""
    return sum(
        CONSUMED.labels(RESPONSES.consumer, outcome)._value.get() for outcome in ("handled", "duplicate")
    )


def _async(f: Callable[[], float]) -> Callable[[], Awaitable[float]]:
    async def probe() -> float:
        return f()

    return probe


async def test_each_response_is_counted_once_for_its_campaign_however_often_it_is_delivered(
    settings: Settings,
    bus: Bus,
    pools: dict[str, asyncpg.Pool],
    background: Callable[[Awaitable[None]], Any],
) -> None:
    assert RESPONSES in ENGAGEMENT.subscriptions
    await declare_topology(bus, ENGAGEMENT.subscriptions)
    campaign_id, other = uuid.uuid4(), uuid.uuid4()
    events = [
        response(campaign_id, postal_code="94607", demographics={"tenure": ("renter",)}),
        response(campaign_id, demographics={"tenure": ("owner",), "race_ethnicity": ("white", "asian")}),
        response(campaign_id),
        response(other, demographics={"tenure": ("owner",)}),
        response(None, demographics={"tenure": ("owner",)}),  # linked to no campaign
    ]
    envelopes = [Envelope.wrap(e, producer="surveys") for e in events]
    # Each published twice (a relay that crashed before marking them sent publishes them again),
    # the copies in one run and later on.
    messages = [(env.type, env.model_dump_json().encode(), str(env.id)) for env in envelopes]
    settled_before = settled()
    await bus.publish_many([*messages, *messages])
    background(Consumer(bus, pools["engagement"], RESPONSES, settings).run())
    await eventually(_async(settled), lambda n: n - settled_before == 2 * len(messages))
    await bus.publish_many(messages[:2])  # and once more, after they were counted
    await eventually(_async(settled), lambda n: n - settled_before == 2 * len(messages) + 2)
    assert await counted(pools["engagement"], campaign_id) == (
        3,
        {("tenure", "renter"): 1, ("tenure", "owner"): 1, ("race_ethnicity", "two_or_more"): 1},
    )
    assert await counted(pools["engagement"], other) == (1, {("tenure", "owner"): 1})
    by_zip = await pools["engagement"].fetch(
        "SELECT zip, responses FROM campaign_responses WHERE campaign_id = $1 ORDER BY zip", campaign_id
    )
    assert [tuple(r) for r in by_zip] == [("94607", 1), (None, 2)]


async def a_county_with_tenure(pool: asyncpg.Pool, owners: int, renters: int) -> tuple[uuid.UUID, str]:
    """A county with a tenure baseline and one ZIP region inside it; its id and that ZIP code."""
    county, zip_code = uuid.uuid4(), a_zip()
    await pool.execute(
        "INSERT INTO regions (id, kind, name, geo_id) VALUES ($1, 'county', $2, $3)",
        county,
        unique("County"),
        f"0500000US9{random.randrange(10**9)}",
    )
    await pool.execute(
        """INSERT INTO regions (kind, name, geo_id, parent_id) VALUES ('zip', $1, $2, $3)
           ON CONFLICT (geo_id) DO UPDATE SET parent_id = EXCLUDED.parent_id""",
        f"ZIP {zip_code}",
        f"860Z200US{zip_code}",
        county,
    )
    await pool.execute(
        """INSERT INTO baselines (region_id, dimension, band, estimate, source_table, source_year)
           SELECT $1, 'tenure', band, estimate, 'B25003', 2024
           FROM unnest(ARRAY['total', 'owner', 'renter'], ARRAY[$2, $3, $4]::bigint[])
                AS f (band, estimate)""",
        county,
        owners + renters,
        owners,
        renters,
    )
    return county, zip_code


async def submitted(pool: asyncpg.Pool, events: list[ResponseSubmitted]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await on_responses_submitted(conn, [(e, Envelope.wrap(e, producer="surveys")) for e in events])


def cells(html: str, caption: str) -> list[list[str]]:
    """The rows of the table with this caption, each as its header and cells' text."""
    table = html[html.index(f"<caption>{caption}</caption>") :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
        for r in rows
    ]


async def test_the_campaign_page_shows_who_responded_against_the_population_naming_the_groups_under(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    county, zip_code = await a_county_with_tenure(pool, owners=500, renters=500)
    organisation_id = await an_organisation(engagement)
    created = await engagement.post(
        "/api/v1/campaigns", json=draft(organisation_id, region_ids=[str(county)]), headers=ADMIN
    )
    campaign_id = uuid.UUID((await created.json())["id"])
    page = f"/console/campaigns/{campaign_id}"
    before = await (await engagement.get(page, headers=ADMIN)).text()
    assert "No one has responded to the campaign's surveys yet" in before

    # Nine owners and one renter, where half the households rent: renters are under-represented.
    # One placed by its region, the others by their ZIP code; one answered nothing about tenure.
    await submitted(
        pool,
        [
            response(campaign_id, region_id=county, demographics={"tenure": ("renter",)}),
            *(
                response(campaign_id, postal_code=zip_code, demographics={"tenure": ("owner",)})
                for _ in range(9)
            ),
            response(campaign_id, postal_code=zip_code),
            response(
                uuid.uuid4(), region_id=county, demographics={"tenure": ("renter",)}
            ),  # another campaign's
        ],
    )

    reach = await (await engagement.get(f"/api/v1/campaigns/{campaign_id}/reach", headers=ADMIN)).json()
    assert reach["responded"] == 11
    assert [r["responded"] for r in reach["regions"]] == [11]
    [tenure] = reach["respondents"]
    assert tenure["dimension"] == "tenure" and tenure["under_represented"] == ["renter"]
    assert {b["band"]: (b["respondents"], b["population"]) for b in tenure["bands"]} == {
        "owner": (9, 500),
        "renter": (1, 500),
    }
    assert tenure["index"] == 0.6  # 1 - (|0.9 - 0.5| + |0.1 - 0.5|) / 2
    assert (reach["contacted"], reach["registered"], reach["attended"]) == (0, 0, 0)

    html = await (await engagement.get(page, headers=ADMIN)).text()
    outreach = cells(html, "Outreach so far")
    assert outreach == [
        ["Contacted", "0 people reached by its news"],
        ["Responded", "11 responses to its surveys"],
        ["Registered", "0 people of the audience holding or waiting for a seat at its meetings"],
        ["Attended", "0 people of the audience came to its meetings"],
    ]
    assert "Most under-represented: Renter." in html
    assert cells(html, "Tenure of the respondents, against the audience's population")[1:] == [
        ["Owner", "9", "90.0 %", "500", "50.0 %"],
        ["Renter", "1", "10.0 %", "500", "50.0 %"],
    ]
    assert 'aria-labelledby="respondents-chart-tenure"' in html and "style=" not in html
    assert cells(html, "The audience by region, against the region's households")[1][-1] == "11"

    spanish = await (await engagement.get(f"{page}?lang=es", headers=ADMIN)).text()
    assert "Los grupos menos representados: Inquilino." in spanish
    assert [
        row[0]
        for row in cells(
            spanish, "Régimen de tenencia de quienes respondieron, frente a la población del público"
        )
    ] == [
        "Grupo",
        "Propietario",
        "Inquilino",
    ]
    assert ["Respondieron", "11 respuestas a sus encuestas"] in cells(spanish, "Alcance hasta ahora")
