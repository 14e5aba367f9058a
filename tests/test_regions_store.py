"""Regions and baselines in the real PostgreSQL, as the serving role: importing the real Census
exports, again, a bad copy (nothing written), the command line, and the demo data."""

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.engagement import demo
from services.engagement.regions import store
from services.engagement.regions.acs import ExportError
from services.engagement.regions.importing import import_baselines, read_files
from shared.demographics import CATALOGUE, TOTAL
from shared.settings import Settings

ACS = Path(__file__).resolve().parent.parent / "data" / "acs"
INCOME = ACS / "ACSDT5Y2024.B19001-Data.target-counties.csv"
TENURE = ACS / "ACSDT5Y2024.B25003-Data.target-counties.csv"
ALAMEDA = "0500000US06001"


async def _snapshot(conn: Any) -> tuple[list[Any], list[Any]]:
    regions = await conn.fetch("SELECT * FROM regions ORDER BY id")
    baselines = await conn.fetch("SELECT * FROM baselines ORDER BY region_id, dimension, band, source_table")
    return [tuple(r) for r in regions], [tuple(r) for r in baselines]


async def _figures(conn: Any, geo_id: str) -> dict[tuple[str, str], tuple[int, int | None]]:
    region = await store.find_region(conn, geo_id)
    assert region is not None
    return {
        (f.dimension, f.band): (f.estimate, f.margin_of_error) for f in await store.figures_of(conn, region)
    }


async def test_the_catalogue_is_the_databases(pools: dict[str, asyncpg.Pool]) -> None:
    rows = await pools["engagement"].fetch(
        "SELECT dimension, band FROM baseline_bands ORDER BY dimension, position"
    )
    expected = {
        (d.value, b) for d, spec in CATALOGUE.items() for b in (TOTAL, *(band.code for band in spec.bands))
    }
    assert {(r["dimension"], r["band"]) for r in rows} == expected


async def test_importing_the_real_exports_keeps_their_figures(fresh_engagement: asyncpg.Pool) -> None:
    async with fresh_engagement.acquire() as conn:
        done = await import_baselines(conn, read_files([INCOME, TENURE]))
        assert [(d.regions, d.figures) for d in done] == [(16, 16 * 8), (16, 16 * 3)]
        figures = await _figures(conn, ALAMEDA)
        region = await conn.fetchrow("SELECT kind, name, is_demo FROM regions WHERE geo_id = $1", ALAMEDA)
        sources = await conn.fetch(
            "SELECT DISTINCT dimension, source_table, source_year FROM baselines b JOIN regions r "
            "ON r.id = b.region_id WHERE r.geo_id = $1 ORDER BY 1",
            ALAMEDA,
        )
    assert tuple(region) == ("county", "Alameda County, California", False)
    # As in the files: B25003 row 3 and B19001 row 3.
    assert figures[("tenure", TOTAL)] == (598246, 1734)
    assert figures[("tenure", "renter")] == (272737, 2935)
    assert figures[("tenure", "owner")] == (325509, 3198)
    assert figures[("household_income", TOTAL)] == (598246, 1734)
    assert figures[("household_income", "200000_plus")] == (192363, 2717)
    assert figures[("household_income", "75000_99999")] == (56169, 2061)
    assert [tuple(s) for s in sources] == [("household_income", "B19001", 2024), ("tenure", "B25003", 2024)]


async def test_importing_again_updates_instead_of_duplicating(pools: dict[str, asyncpg.Pool]) -> None:
    async with pools["engagement"].acquire() as conn:
        await import_baselines(conn, read_files([INCOME, TENURE]))
        regions_before, baselines_before = await _snapshot(conn)
        again = await import_baselines(conn, read_files([TENURE, INCOME]))
        regions_after, baselines_after = await _snapshot(conn)
    assert [d.created for d in again] == [0, 0]
    assert regions_after == regions_before
    without_time = [row[:-1] for row in baselines_before]  # imported_at is last
    assert [row[:-1] for row in baselines_after] == without_time
    assert [row[-1] for row in baselines_after] != [row[-1] for row in baselines_before]


async def test_a_failure_part_way_leaves_every_table_as_it_was(pools: dict[str, asyncpg.Pool]) -> None:
    prepared = read_files([INCOME, TENURE], 2019)  # another year: new figures, not replacements

    def fail_on_the_second_file(baselines: Any, _written: int) -> None:
        if baselines.table == "B25003":
            raise RuntimeError("connection lost")

    async with pools["engagement"].acquire() as conn:
        before = await _snapshot(conn)
        with pytest.raises(RuntimeError):
            await import_baselines(conn, prepared, progress=fail_on_the_second_file)
        assert await _snapshot(conn) == before
        assert await conn.fetchval("SELECT count(*) FROM baselines WHERE source_year = 2019") == 0


def _corrupt(tmp_path: Path, path: Path, row: int, old: str, new: str) -> Path:
    lines = path.read_bytes().split(b"\n")
    assert old.encode() in lines[row - 1]
    lines[row - 1] = lines[row - 1].replace(old.encode(), new.encode(), 1)
    copy = tmp_path / path.name
    copy.write_bytes(b"\n".join(lines))
    return copy


async def _cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "CIVIC_DATABASE_URL": settings.database_url,
        "CIVIC_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "COLUMNS": "200",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.engagement.regions",
        *args,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_cli_shows_the_mapping_and_writes_nothing_until_accepted(
    run_settings: Settings, pools: dict[str, asyncpg.Pool], tmp_path: Path
) -> None:
    renamed = tmp_path / "tenure.csv"  # no year in the name: --year gives it
    renamed.write_bytes(TENURE.read_bytes())
    before = await _snapshot(pools["engagement"])
    code, out, _err = await _cli(run_settings, "import", str(INCOME), str(renamed), "--year", "2018")
    assert code == 0
    assert "B19001_003E" in out and "under 25,000 dollars" in out and "Renter" in out
    assert "Nothing imported" in out
    assert await _snapshot(pools["engagement"]) == before

    code, out, err = await _cli(
        run_settings, "import", str(INCOME), str(renamed), "--year", "2018", "--accept-mapping"
    )
    assert (code, err.count("Traceback")) == (0, 0)
    assert "tenure.csv: 16 regions" in out
    async with pools["engagement"].acquire() as conn:
        figures = await _figures(conn, ALAMEDA)
        years = await conn.fetchval("SELECT count(*) FROM baselines WHERE source_year = 2018")
    assert figures[("tenure", "renter")] == (272737, 2935)
    assert years == 16 * 8 + 16 * 3


@pytest.mark.parametrize(
    ("path", "row", "old", "new", "column"),
    [
        (INCOME, 5, '"1975"', '"abc"', "B19001_003E"),  # Marin, $10,000 to $14,999: not a number
        (TENURE, 9, ',"3317",', ",", "B25003_003M"),  # Santa Clara's last margin missing
        (TENURE, 18, '"163104"', '"163105"', "B25003_001E"),  # Multnomah's parts no longer add up
    ],
)
async def test_the_cli_refuses_a_bad_copy_naming_file_row_and_column(
    run_settings: Settings,
    pools: dict[str, asyncpg.Pool],
    tmp_path: Path,
    path: Path,
    row: int,
    old: str,
    new: str,
    column: str,
) -> None:
    bad = _corrupt(tmp_path, path, row, old, new)
    good = TENURE if path == INCOME else INCOME
    before = await _snapshot(pools["engagement"])
    code, out, err = await _cli(
        run_settings, "import", str(good), str(bad), "--year", "2017", "--accept-mapping"
    )
    assert code == 1
    assert f"{bad.name}, row {row}, column {column}:" in err
    assert "Traceback" not in err and "imported" not in out
    assert await _snapshot(pools["engagement"]) == before


async def test_a_file_that_is_not_there_or_not_text_is_named(tmp_path: Path) -> None:
    binary = tmp_path / "ACSDT5Y2024.B25003-Data.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ExportError, match=r"ACSDT5Y2024\.B25003-Data\.csv: not UTF-8 text"):
        read_files([binary])
    with pytest.raises(ExportError, match=r"missing\.csv"):
        read_files([tmp_path / "missing.csv"])


async def test_demo_regions_are_the_real_counties_nested_and_loaded_once(
    fresh_engagement: asyncpg.Pool,
) -> None:
    async with fresh_engagement.acquire() as conn:
        assert await demo.load_regions(conn) == 16
        assert await demo.load_regions(conn) == 0
        counties = await conn.fetch(
            "SELECT r.geo_id, r.is_demo, p.name AS parent FROM regions r "
            "LEFT JOIN regions p ON p.id = r.parent_id WHERE r.kind = 'county'"
        )
        groups = await conn.fetch(
            "SELECT name, kind, is_demo FROM regions WHERE id = ANY($1::uuid[])",
            [g[0] for g in demo.DEMO_GROUPS],
        )
        figures = await _figures(conn, "0500000US36047")
    parents = {r["geo_id"]: r["parent"] for r in counties}
    assert len(parents) == 16 and all(r["is_demo"] for r in counties)
    assert parents["0500000US06085"] == "Demo: Bay Area (the initiative's nine counties)"
    assert parents["0500000US36047"] == "Demo: New York City (five boroughs)"
    assert parents["0500000US41051"] is None
    assert sorted((g["kind"], g["is_demo"]) for g in groups) == [("city", True), ("metro", True)]
    assert figures[("tenure", "renter")] == (712011, 4241)  # Kings County, as in the file


async def test_a_region_cannot_end_up_inside_itself(pools: dict[str, asyncpg.Pool]) -> None:
    async with pools["engagement"].acquire() as conn:
        await demo.load_regions(conn)
        city = demo.DEMO_GROUPS[1][0]
        with pytest.raises(asyncpg.CheckViolationError, match="inside itself"):
            await conn.execute(
                "UPDATE regions SET parent_id = (SELECT id FROM regions WHERE geo_id = $1) WHERE id = $2",
                "0500000US36047",
                city,
            )
