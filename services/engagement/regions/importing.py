"""Importing exports: read the files, then write every region and figure of all of them in one
transaction, so a fault anywhere leaves the tables as they were."""

from collections.abc import Callable, Sequence
from pathlib import Path
from uuid import UUID

from pydantic import BaseModel

from services.engagement.regions import store
from services.engagement.regions.acs import ExportError
from services.engagement.regions.baselines import Baselines, prepare
from services.engagement.regions.publishing import announcing
from shared.db import DbConnection

# Regions written per statement: the progress bar moves between them.
CHUNK = 500


class Imported(BaseModel, frozen=True):
    source: str
    regions: int
    created: int  # regions new to the platform
    figures: int


def read_files(paths: Sequence[Path], year: int | None = None) -> list[Baselines]:
    """Every file prepared (parsed, mapped, checked) before anything is written."""
    prepared = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ExportError(path.name, f"not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:
            raise ExportError(str(path), exc.strerror or str(exc)) from None
        prepared.append(prepare(text, path.name, year))
    return prepared


async def import_baselines(
    conn: DbConnection,
    prepared: Sequence[Baselines],
    *,
    is_demo: bool = False,
    progress: Callable[[Baselines, int], None] | None = None,
    correlation_id: str | None = None,
    actor: str | None = None,
) -> list[Imported]:
    """Write them all, or nothing, and announce the regions whose name or figures changed;
    ``progress`` hears of each chunk of regions written."""
    done = []
    async with conn.transaction():
        await store.lock_imports(conn)
        known = await store.ids_of(conn, [r.geo_id for b in prepared for r in b.regions])
        async with announcing(conn, known.values(), correlation_id=correlation_id, actor=actor) as touched:
            for baselines in prepared:
                done.append(await _import_one(conn, baselines, touched, is_demo, progress))
    return done


async def _import_one(
    conn: DbConnection,
    baselines: Baselines,
    touched: set[UUID],
    is_demo: bool,
    progress: Callable[[Baselines, int], None] | None,
) -> Imported:
    figures = created = 0
    for start in range(0, len(baselines.regions), CHUNK):
        chunk = baselines.regions[start : start + CHUNK]
        ids, new = await store.upsert_regions(conn, chunk, is_demo=is_demo)
        touched.update(ids.values())
        created += new
        figures += await store.replace_figures(conn, baselines, chunk, ids)
        if progress is not None:
            progress(baselines, len(chunk))
    return Imported(source=baselines.source, regions=len(baselines.regions), created=created, figures=figures)
