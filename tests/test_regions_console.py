"""Regions in the console and the JSON API, against the real PostgreSQL: who may read and write,
a region never inside itself, the import of an ACS export reviewed then confirmed (one
transaction with its audit entry; a bad file reported by row and column, nothing written), a
region's baselines as a chart beside a table, English and Spanish; the SVG chart for any numbers."""

import base64
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import asyncpg
import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from services.engagement.regions.charts import WIDTH, Bar, bar_chart
from shared.auth import ACCOUNT_HEADER
from tests import test_accounts
from tests.test_accounts import csrf_of
from tests.test_organisations import as_, audit_targets, unique

engagement = test_accounts.engagement

ACS = Path(__file__).resolve().parents[1] / "data" / "acs"
TENURE = ACS / "ACSDT5Y2024.B25003-Data.target-counties.csv"
ALAMEDA = "0500000US06001"
ORGANIZER = as_(f"organizer:{uuid.uuid4()}")


async def a_region(engagement: TestClient, name: str, parent_id: str | None = None, **extra: str) -> str:
    body = {"name": name, "kind": "area", "parent_id": parent_id, **extra}
    created = await engagement.post("/api/v1/regions", json=body, headers=as_("admin"))
    assert created.status == 201, await created.text()
    return str((await created.json())["id"])


async def test_admins_create_and_nest_regions_organizers_read_them_and_no_region_is_inside_itself(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    admin = as_("admin")
    name = unique("East Bay corridor")
    outer = await a_region(engagement, name)
    inner = await a_region(engagement, f"{name} west", outer)
    innermost = await a_region(engagement, f"{name} west pier", inner)
    assert (
        await audit_targets(pools["engagement"], admin[ACCOUNT_HEADER]) == []
    )  # a_region's admin is another
    moved = await engagement.put(
        f"/api/v1/regions/{outer}", json={"name": name, "kind": "area", "parent_id": innermost}, headers=admin
    )
    assert moved.status == 422, await moved.text()
    assert (await moved.json())["errors"] == [
        {"field": "parent_id", "message": "a region cannot be inside itself"}
    ]
    itself = await engagement.put(
        f"/api/v1/regions/{outer}", json={"name": name, "kind": "area", "parent_id": outer}, headers=admin
    )
    assert itself.status == 422
    unknown = await engagement.post(
        "/api/v1/regions", json={"name": name, "kind": "city", "parent_id": str(uuid.uuid4())}, headers=admin
    )
    assert unknown.status == 422 and (await unknown.json())["errors"][0]["field"] == "parent_id"
    renamed = await engagement.put(
        f"/api/v1/regions/{inner}", json={"name": f"{name} bayside", "kind": "area"}, headers=admin
    )
    assert renamed.status == 200 and (await renamed.json())["parent_id"] is None
    assert await audit_targets(pools["engagement"], admin[ACCOUNT_HEADER]) == [
        ("region.changed", f"region:{inner}")
    ]

    found = await (await engagement.get(f"/api/v1/regions?q={name[-8:]}", headers=ORGANIZER)).json()
    assert {(item["name"], item["parent_name"]) for item in found["items"]} == {
        (name, None),
        (f"{name} bayside", None),
        (f"{name} west pier", f"{name} bayside"),
    }
    for who, status in ((ORGANIZER, 403), (as_(f"cop_lead:{uuid.uuid4()}"), 403)):
        body = {"name": "Mine", "kind": "area"}
        assert (await engagement.post("/api/v1/regions", json=body, headers=who)).status == status
    assert (await engagement.get("/api/v1/regions", headers=as_(f"cop_lead:{uuid.uuid4()}"))).status == 403
    assert (await engagement.get(f"/api/v1/regions/{uuid.uuid4()}", headers=ORGANIZER)).status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": " ", "kind": "area"}, "name"),
        ({"name": "A\nB", "kind": "area"}, "name"),
        ({"name": "Delta", "kind": "state"}, "kind"),
        ({"name": "Delta", "kind": "area", "parent_id": "not-a-uuid"}, "parent_id"),
        ({"name": "Delta", "kind": "area", "geo_id": "0500000US06001"}, "geo_id"),
    ],
)
async def test_a_bad_region_is_a_problem_naming_the_field(
    engagement: TestClient, body: dict[str, object], field: str
) -> None:
    response = await engagement.post("/api/v1/regions", json=body, headers=as_("admin"))
    assert response.status == 422 and response.content_type == "application/problem+json"
    assert field in [error["field"] for error in (await response.json())["errors"]]


async def test_the_region_form_keeps_what_was_typed_beside_the_error(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    admin = as_("admin")
    page = await engagement.get("/console/regions/new", headers=admin)
    assert page.status == 200
    token = csrf_of(await page.text())
    assert (await engagement.get("/console/regions/new", headers=ORGANIZER)).status == 403
    outer = await a_region(engagement, unique("Fruitvale"))
    inner = await a_region(engagement, unique("Fruitvale station"), outer)

    blank = await engagement.post(
        "/console/regions/new?lang=es",
        data={"csrf": token, "name": "", "kind": "zip", "parent_id": outer},
        headers=admin,
    )
    assert blank.status == 422
    html = await blank.text()
    assert 'id="name-error"' in html and "Escriba un nombre" in html
    assert '<option value="zip" selected>' in html and f'<option value="{outer}" selected>' in html

    cycle = await engagement.post(
        f"/console/regions/{outer}?lang=en",
        data={"csrf": token, "name": "Fruitvale moved", "kind": "area", "parent_id": inner},
        headers=admin,
    )
    assert cycle.status == 422
    html = await cycle.text()
    assert 'id="parent_id-error"' in html and "cannot be inside itself" in html
    assert 'value="Fruitvale moved"' in html
    forged = await engagement.post(
        "/console/regions/new?lang=en", data={"csrf": "forged", "name": "X", "kind": "area"}, headers=admin
    )
    assert forged.status == 422 and "This form had expired" in await forged.text()

    saved = await engagement.post(
        "/console/regions/new",
        data={"csrf": token, "name": "Fruitvale east", "kind": "area", "parent_id": inner},
        headers=admin,
        allow_redirects=False,
    )
    assert saved.status == 303
    created = re.fullmatch(r"/console/regions/([0-9a-f-]{36})\?saved=1", saved.headers["Location"])
    assert created
    assert await audit_targets(pools["engagement"], admin[ACCOUNT_HEADER]) == [
        ("region.created", f"region:{created[1]}")
    ]
    shown = await (await engagement.get(saved.headers["Location"], headers=ORGANIZER)).text()
    assert "Fruitvale east" in shown and f'href="/console/regions/{inner}"' in shown
    assert 'action="/console/regions/' not in shown  # organizers read, admins change


def upload(token: str, content: bytes, name: str = TENURE.name, year: str = "") -> FormData:
    form = FormData()
    form.add_field("csrf", token)
    form.add_field("year", year)
    form.add_field("file", content, filename=name, content_type="text/csv")
    return form


async def import_token(engagement: TestClient, admin: dict[str, str]) -> str:
    page = await engagement.get("/console/regions/import", headers=admin)
    assert page.status == 200
    return csrf_of(await page.text())


async def test_an_admin_reviews_the_proposed_mapping_then_imports_in_one_transaction(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    admin = as_("admin")
    token = await import_token(engagement, admin)
    assert (await engagement.get("/console/regions/import", headers=ORGANIZER)).status == 403
    await pool.execute("DELETE FROM baselines WHERE source_table = 'B25003'")
    reviewed = await engagement.post(
        "/console/regions/import", data=upload(token, TENURE.read_bytes()), headers=admin
    )
    assert reviewed.status == 200
    html = await reviewed.text()
    for shown in ("B25003_002E", "Estimate!!Total:!!Owner occupied", "Owner", "Renter", "for 16 regions"):
        assert shown in html
    assert await pool.fetchval("SELECT count(*) FROM baselines WHERE source_table = 'B25003'") == 0
    staged = re.search(r'name="staged" value="([^"]+)"', html)
    assert staged and base64.b64decode(staged[1]) == TENURE.read_bytes().decode("utf-8-sig").encode()

    confirm = {"csrf": token, "staged": staged[1], "source": TENURE.name, "year": ""}
    done = await engagement.post(
        "/console/regions/import", data=confirm, headers=admin, allow_redirects=False
    )
    assert done.status == 303 and done.headers["Location"] == "/console/regions?imported=16"
    assert await pool.fetchval("SELECT count(*) FROM baselines WHERE source_table = 'B25003'") == 16 * 3
    assert await audit_targets(pool, admin[ACCOUNT_HEADER]) == [
        ("region.baselines_imported", "baselines:B25003:2024 regions:16")
    ]

    alameda = await pool.fetchval("SELECT id FROM regions WHERE geo_id = $1", ALAMEDA)
    page = await engagement.get(f"/console/regions/{alameda}", headers=ORGANIZER)
    html = await page.text()
    assert '<svg class="chart"' in html and "<caption>Tenure: table B25003, 2024</caption>" in html
    row = re.search(
        r"<th scope=\"row\">Renter</th><td>([\d,]+)</td><td>± ([\d,]+)</td><td>([\d.]+%)</td>", html
    )
    renters = await pool.fetchrow(
        "SELECT estimate, margin_of_error FROM baselines WHERE region_id = $1 AND band = 'renter'", alameda
    )
    assert row and (int(row[1].replace(",", "")), int(row[2].replace(",", ""))) == tuple(renters)
    assert "style=" not in html and "<script" not in html
    spanish = await (await engagement.get(f"/console/regions/{alameda}?lang=es", headers=ORGANIZER)).text()
    assert "Inquilino" in spanish and "Régimen de tenencia" in spanish


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda text: text.replace('"325509"', '"32550x"', 1), ", row 3, column B25003_002E: "),
        (lambda text: text.replace('"B25003_002M",', "", 1), ", row 2: 7 codes but 8 labels"),
        (lambda text: text.replace('"272737"', '"272738"', 1), ", row 3, column B25003_001E: "),
        (lambda text: text.replace("B25003", "B99999"), ", row 1: table B99999 is not one"),
        (lambda text: text.splitlines()[0], ": an export starts with two header rows"),
    ],
    ids=["a value", "a code cut", "parts not adding up", "a table not mapped", "one header row"],
)
async def test_a_bad_export_is_reported_beside_the_field_by_row_and_column_and_nothing_is_written(
    engagement: TestClient, pools: dict[str, asyncpg.Pool], change: object, where: str
) -> None:
    pool = pools["engagement"]
    admin = as_("admin")
    token = await import_token(engagement, admin)
    before = await pool.fetchval("SELECT count(*) FROM baselines")
    text = TENURE.read_bytes().decode("utf-8-sig")
    assert callable(change)
    bad = change(text)
    assert bad != text
    refused = await engagement.post(
        "/console/regions/import", data=upload(token, bad.encode(), year="2024"), headers=admin
    )
    assert refused.status == 422
    html = await refused.text()
    message = re.search(r'<p class="bad" id="file-error">([^<]*)</p>', html)
    assert message and message[1].startswith(f"{TENURE.name}{where}"), html
    assert 'aria-describedby="file-error"' in html and 'value="2024"' in html
    # The same file confirmed (a staged copy changed on its way back) is refused as well.
    staged = base64.b64encode(bad.encode()).decode()
    confirm = {"csrf": token, "staged": staged, "source": TENURE.name, "year": "2024"}
    assert (await engagement.post("/console/regions/import", data=confirm, headers=admin)).status == 422
    assert await pool.fetchval("SELECT count(*) FROM baselines") == before
    assert await audit_targets(pool, admin[ACCOUNT_HEADER]) == []


async def test_an_upload_without_a_file_or_with_a_bad_year_is_refused_beside_its_field(
    engagement: TestClient,
) -> None:
    admin = as_("admin")
    token = await import_token(engagement, admin)
    nothing = FormData({"csrf": token, "year": ""})
    nothing.add_field("file", b"", filename="", content_type="application/octet-stream")
    missing = await engagement.post("/console/regions/import", data=nothing, headers=admin)
    assert missing.status == 422 and 'id="file-error"' in await missing.text()
    early = await engagement.post(
        "/console/regions/import", data=upload(token, TENURE.read_bytes(), year="1990"), headers=admin
    )
    assert early.status == 422 and 'id="year-error"' in await early.text()
    undated = await engagement.post(
        "/console/regions/import", data=upload(token, TENURE.read_bytes(), name="tenure.csv"), headers=admin
    )
    assert undated.status == 422 and "does not say the year" in await undated.text()
    latin1 = await engagement.post(
        "/console/regions/import", data=upload(token, "Peñuelas".encode("latin-1")), headers=admin
    )
    assert latin1.status == 422 and "not UTF-8" in await latin1.text()
    broken = {"csrf": token, "staged": "not base64!", "source": TENURE.name, "year": ""}
    assert (await engagement.post("/console/regions/import", data=broken, headers=admin)).status == 422
    forged = await engagement.post(
        "/console/regions/import", data=upload("forged", TENURE.read_bytes()), headers=admin
    )
    assert forged.status == 422 and "This form had expired" in await forged.text()


async def test_the_list_is_searched_and_paged_and_shows_each_regions_parent_and_baselines(
    engagement: TestClient,
) -> None:
    marker = uuid.uuid4().hex[:8]
    outer = await a_region(engagement, f"Paging {marker} outer")
    for n in range(26):
        await a_region(engagement, f"Paging {marker} {n:02}", outer)
    first = await (await engagement.get(f"/console/regions?q={marker}", headers=ORGANIZER)).text()
    second = await (await engagement.get(f"/console/regions?q={marker}&page=2", headers=ORGANIZER)).text()
    assert "Page 1 of 2" in first and first.count(f'href="/console/regions/{outer}"') == 25
    assert f"Paging {marker} outer" in second and "Paging 00" not in second
    assert "<caption>" in first and 'scope="col"' in first


@given(
    st.lists(
        st.tuples(
            st.text(max_size=40),
            st.integers(min_value=0, max_value=10**15) | st.floats(min_value=0, max_value=1e300),
            st.none() | st.integers(min_value=0, max_value=10**15),
        ),
        max_size=12,
    ),
    st.text(max_size=60),
)
def test_a_chart_of_any_counts_is_well_formed_svg_with_bars_inside_it(
    bars: list[tuple[str, float, int | None]], title: str
) -> None:
    svg = bar_chart([Bar(label, value, margin, shown="x") for label, value, margin in bars], title=title)
    root = ET.fromstring(svg)  # noqa: S314  (our own output: whatever the labels hold, it parses)
    rects = root.findall("rect")
    assert len(rects) == len(bars)
    if title.isprintable():
        assert root.findtext("title") == title
    widths = [float(rect.get("width", "nan")) for rect in rects]
    assert all(0 <= width <= WIDTH for width in widths)
    longest = max((value + (margin or 0) for _, value, margin in bars), default=0)
    for (_, value, _), width in zip(bars, widths, strict=True):
        if longest > 0 and value == longest:
            assert width == WIDTH
    texts = [text.text or "" for text in root.findall("text")]
    for (label, _, _), text in zip(bars, texts, strict=True):
        assert text.endswith(": x")
        if label.isprintable():
            assert text == f"{label}: x"


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf")])
def test_a_bar_is_a_count_not_negative_nor_infinite(value: float) -> None:
    with pytest.raises(ValueError, match="finite number, not negative"):
        Bar("Owner", value)
