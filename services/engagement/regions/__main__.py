"""Import population baselines from Census ACS exports (data.census.gov, "Download table data").

python -m services.engagement.regions import FILE [FILE ...] [--year 2024] [--show-mapping | --accept-mapping]

Shows the mapping proposed from each file's columns to the platform's bands; with
--accept-mapping, imports every file in one transaction (all or nothing) as the serving role
(CIVIC_DATABASE_URL). A bad file, row or value exits 1 naming the file, row and column, with
nothing written."""

import argparse
import asyncio
import sys
from pathlib import Path

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from services.engagement.regions.acs import ExportError
from services.engagement.regions.baselines import Baselines
from services.engagement.regions.importing import Imported, import_baselines, read_files
from services.engagement.regions.mapping import Role
from shared.demographics import CATALOGUE
from shared.settings import get_settings

SCHEMA = "engagement"
_STYLE = {Role.TOTAL: "bold", Role.BAND: "green", Role.PARTS: "dim", Role.WITHIN: "dim", Role.UNKNOWN: "red"}


def mapping_table(baselines: Baselines) -> Table:
    spec = CATALOGUE[baselines.dimension]
    table = Table(
        title=f"{baselines.source}: table {baselines.table} ({baselines.year}) -> {spec.label} "
        f"({spec.universe}), {len(baselines.regions)} regions"
    )
    for heading in ("column", "label", "band", "note"):
        table.add_column(heading)
    for column in baselines.proposal.columns:
        band = spec.band(column.band).label if column.role is Role.BAND and column.band else column.role.value
        table.add_row(column.code, column.label, band, column.note, style=_STYLE[column.role])
    return table


async def _import(prepared: list[Baselines], console: Console) -> list[Imported]:
    conn = await asyncpg.connect(get_settings().database_url, server_settings={"search_path": SCHEMA})
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            tasks = {b.source: progress.add_task(b.source, total=len(b.regions)) for b in prepared}
            return await import_baselines(
                conn, prepared, progress=lambda baselines, n: progress.advance(tasks[baselines.source], n)
            )
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.engagement.regions", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("import", help="import baselines from ACS table exports")
    command.add_argument("files", nargs="+", type=Path, metavar="FILE")
    command.add_argument("--year", type=int, help="the estimates' last year, when the file name does not say")
    choice = command.add_mutually_exclusive_group()
    choice.add_argument(
        "--show-mapping", action="store_true", help="show the proposed mapping only (default)"
    )
    choice.add_argument("--accept-mapping", action="store_true", help="import with the proposed mapping")
    args = parser.parse_args(argv)

    console, errors = Console(), Console(stderr=True)
    try:
        prepared = read_files(args.files, args.year)
    except ExportError as exc:
        errors.print(f"error: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        return 1
    for baselines in prepared:
        console.print(mapping_table(baselines))
        for region in baselines.regions:
            for why in region.left_out:
                console.print(
                    f"{baselines.source} row {region.row} ({region.geo_id} {region.name}): left out {why}"
                )
    if not args.accept_mapping:
        console.print("Nothing imported: run again with --accept-mapping to import with this mapping.")
        return 0
    try:
        imported = asyncio.run(_import(prepared, errors))
    except (asyncpg.PostgresError, OSError) as exc:
        errors.print(
            f"error: nothing imported: {exc}", style="red", markup=False, highlight=False, soft_wrap=True
        )
        return 1
    for done in imported:
        console.print(
            f"{done.source}: {done.regions} regions ({done.created} new), {done.figures} figures imported"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
