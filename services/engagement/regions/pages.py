"""The console's regions: a list (searched, paged, with each one's parent), a region's baselines
as a chart beside a table, a form to create or change a region, and the import of an ACS export.

Organizers and admins read; admins write (regions/api.py says why). Forms work without
JavaScript, an error is shown beside its field with what was typed kept, as on the community's
pages, whose helpers these reuse."""

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup
from multidict import MultiDictProxy
from pydantic import ValidationError

from services.engagement.community import store as community_store
from services.engagement.community.api import ORGANIZER, total
from services.engagement.community.models import PAGE_SIZE, pages
from services.engagement.community.pages import _form, _page, _path_id, _query, _see_other, errors_of
from services.engagement.regions import store
from services.engagement.regions.acs import ExportError
from services.engagement.regions.api import (
    RegionFields,
    RegionKind,
    RegionRefused,
    RegionWriter,
    Why,
    region_of,
)
from services.engagement.regions.baselines import Baselines, prepare
from services.engagement.regions.charts import Bar, bar_chart
from services.engagement.regions.mapping import Role
from services.engagement.regions.store import StoredFigure
from shared import csrf
from shared.auth import ADMIN, check, requires
from shared.demographics import CATALOGUE, TOTAL, Dimension
from shared.http import POOL, SETTINGS
from shared.i18n import gettext_ as _
from shared.i18n import language_var

# What a region's page lists of the regions inside it: a county's tracts come by the hundred.
INSIDE_SHOWN = 100


def _messages() -> dict[str, str]:
    return {
        "parent_id": _("Choose a region from the list."),
        Why.INSIDE_ITSELF: _("A region cannot be inside itself, nor inside a region it contains."),
        Why.UNKNOWN_PARENT: _("Choose a region from the list."),
        Why.NOT_FOUND: _("It no longer exists."),
    }


@requires(ORGANIZER)
async def regions_page(request: web.Request) -> web.Response:
    account = check(request, ORGANIZER)
    query = _query(request)
    rows = await store.regions(request.app[POOL], query.q, query.offset, PAGE_SIZE)
    context = {
        "items": [region_of(row) for row in rows],
        "query": query,
        "pages": pages(total(rows)),
        "is_admin": account.is_admin,
        "catalogue": CATALOGUE,
        "imported": request.query.get("imported", "").isdigit(),
    }
    return _page(request, "regions.html", context)


@requires(ORGANIZER)
async def region_page(request: web.Request) -> web.Response:
    region_id = _path_id(request, "region_id")
    return await _region(request, region_id, typed=None, errors={})


async def _region(
    request: web.Request,
    region_id: UUID,
    *,
    typed: Mapping[str, str] | None,
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    account = check(request, ORGANIZER)
    pool = request.app[POOL]
    async with pool.acquire() as conn:
        row = await store.region(conn, region_id)
        if row is None:
            raise web.HTTPNotFound()
        figures = await store.figures_of(conn, region_id)
        inside = await store.inside(conn, region_id, INSIDE_SHOWN)
    region = region_of(row)
    context: dict[str, Any] = {
        "region": region,
        "groups": figure_groups(figures),
        "inside": inside,
        "inside_total": total(inside),
        "is_admin": account.is_admin,
    }
    if account.is_admin:
        current = {"name": region.name, "kind": region.kind.value, "parent_id": str(region.parent_id or "")}
        context |= await _form_context(request, typed if typed is not None else current, errors)
    return _page(request, "region.html", context, status)


async def _form_context(
    request: web.Request, typed: Mapping[str, str], errors: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "typed": typed,
        "errors": errors,
        "kinds": list(RegionKind),
        "parents": await community_store.home_regions(request.app[POOL]),
    }


@requires(ADMIN)
async def new_region_page(request: web.Request) -> web.Response:
    context = await _form_context(request, {"kind": RegionKind.AREA.value}, {})
    return _page(request, "region_form.html", context)


@requires(ADMIN)
async def create_region(request: web.Request) -> web.Response:
    typed, region_id, errors = await _save(request, None)
    if region_id is not None:
        return _see_other(f"/console/regions/{region_id}?saved=1")
    return _page(request, "region_form.html", await _form_context(request, typed, errors), 422)


@requires(ADMIN)
async def change_region(request: web.Request) -> web.Response:
    region_id = _path_id(request, "region_id")
    typed, saved, errors = await _save(request, region_id)
    if saved is not None:
        return _see_other(f"/console/regions/{region_id}?saved=1")
    return await _region(request, region_id, typed=typed, errors=errors, status=422)


async def _save(
    request: web.Request, region_id: UUID | None
) -> tuple[dict[str, str], UUID | None, dict[str, str]]:
    """What was typed, and the region saved or the errors beside its fields."""
    data = await request.post()
    typed = _form(data, "name", "kind", "parent_id")
    if not csrf.is_valid(request, data.get(csrf.FIELD)):
        return typed, None, {"form": _("This form had expired. Send it again.")}
    try:
        fields = RegionFields.model_validate({k: v for k, v in typed.items() if v or k == "name"})
    except ValidationError as exc:
        errors = errors_of(exc)
        if "parent_id" in errors:
            errors["parent_id"] = _messages()["parent_id"]
        return typed, None, errors
    try:
        saved = await RegionWriter.of(request, check(request, ADMIN)).save_region(region_id, fields)
    except RegionRefused as exc:
        field = "form" if exc.why is Why.NOT_FOUND else "parent_id"
        return typed, None, {field: _messages()[exc.why]}
    return typed, saved, {}


# A region's baselines: per dimension and source, a chart beside a table.


@dataclass(frozen=True)
class FigureRow:
    band: str
    estimate: str
    margin: str  # "" when the source gives none
    share: str  # of the dimension's total


@dataclass(frozen=True)
class FigureGroup:
    dimension: str
    universe: str
    table: str
    year: int
    total: FigureRow | None
    rows: list[FigureRow]
    chart: Markup


def _number(value: int) -> str:
    return format_decimal(value, locale=language_var.get())


def figure_groups(figures: Sequence[StoredFigure]) -> list[FigureGroup]:
    """The figures of each dimension and source (table and year), in the catalogue's order."""
    sources: dict[tuple[str, str, int], list[StoredFigure]] = {}
    for figure in figures:
        sources.setdefault((figure.dimension, figure.source_table, figure.source_year), []).append(figure)
    return [
        _group(Dimension(dimension), table, year, found)
        for (dimension, table, year), found in sources.items()
    ]


def _group(dimension: Dimension, table: str, year: int, figures: list[StoredFigure]) -> FigureGroup:
    spec = CATALOGUE[dimension]
    whole = next((f for f in figures if f.band == TOTAL), None)

    def row(figure: StoredFigure, band: str) -> FigureRow:
        margin = "" if figure.margin_of_error is None else f"± {_number(figure.margin_of_error)}"
        share = ""
        if whole is not None and whole.estimate > 0:
            share = format_percent(figure.estimate / whole.estimate, "#,##0.0%", locale=language_var.get())
        return FigureRow(band, _number(figure.estimate), margin, share)

    rows = [row(f, _(spec.band(f.band).label)) for f in figures if f.band != TOTAL]
    bars = [
        Bar(r.band, f.estimate, f.margin_of_error, r.share or r.estimate)
        for r, f in zip(rows, [f for f in figures if f.band != TOTAL], strict=True)
    ]
    title = _("%(dimension)s of %(universe)s: table %(table)s, %(year)s") % {
        "dimension": _(spec.label),
        "universe": _(spec.universe),
        "table": table,
        "year": year,
    }
    return FigureGroup(
        dimension=_(spec.label),
        universe=_(spec.universe),
        table=table,
        year=year,
        total=None if whole is None else row(whole, _("Total")),
        rows=rows,
        chart=bar_chart(bars, title=title),
    )


# Importing an ACS export. The review page carries the file back in a hidden field (base64 of its
# text) that the confirmation posts again: no copy is kept on the server between the two, nothing
# to expire or clean up, and the confirmation reads, maps and checks the file anew, so what is
# imported is what the mapping shown was proposed from, checked as if uploaded then.

# Years the baselines table accepts (migration 0003).
YEARS = range(2005, 2101)


class _FieldRefused(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@requires(ADMIN)
async def import_page(request: web.Request) -> web.Response:
    return _page(request, "region_import.html", {"typed": {}, "errors": {}, "review": None})


@requires(ADMIN)
async def import_export(request: web.Request) -> web.Response:
    """The file uploaded: its proposed mapping to review. The file confirmed (``staged``): the
    import, in one transaction with its audit entry."""
    data = await request.post()
    typed = {"year": str(data.get("year", "")).strip()}
    staged = data.get("staged")
    try:
        if not csrf.is_valid(request, data.get(csrf.FIELD)):
            raise _FieldRefused("form", _("This form had expired. Send it again."))
        year = _year(typed["year"])
        text, source = _unstaged(data) if staged is not None else _uploaded(request, data)
        baselines = prepare(text, source, year)
        if baselines.year not in YEARS:
            raise _FieldRefused("year", _("Enter the year the estimates end in, 2005 to 2100."))
        if staged is None:
            review = _review(baselines, text)
            return _page(request, "region_import.html", {"typed": typed, "errors": {}, "review": review})
        done = await RegionWriter.of(request, check(request, ADMIN)).import_baselines(baselines)
    except _FieldRefused as exc:
        return _import_refused(request, typed, exc.field, exc.message)
    except ExportError as exc:
        return _import_refused(request, typed, "file", _export_error(exc))
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
        message = _("The database refused a value of this file, so nothing was imported: %(reason)s")
        return _import_refused(request, typed, "file", message % {"reason": exc.args[0] if exc.args else ""})
    return _see_other(f"/console/regions?imported={done.regions}")


def _import_refused(request: web.Request, typed: dict[str, str], field: str, message: str) -> web.Response:
    return _page(
        request, "region_import.html", {"typed": typed, "errors": {field: message}, "review": None}, 422
    )


def _year(typed: str) -> int | None:
    if not typed:
        return None  # the file name says it
    if not typed.isdigit() or int(typed) not in YEARS:
        raise _FieldRefused("year", _("Enter the year the estimates end in, 2005 to 2100."))
    return int(typed)


def _uploaded(request: web.Request, data: MultiDictProxy[Any]) -> tuple[str, str]:
    upload = data.get("file")
    if not isinstance(upload, web.FileField) or not upload.filename:
        raise _FieldRefused("file", _("Choose an ACS export: a CSV file downloaded from data.census.gov."))
    source = PurePath(upload.filename).name[:200]
    # The review page carries the file back as base64 (a third more): keep both under the limit.
    limit = request.app[SETTINGS].max_body_bytes // 2
    raw = upload.file.read(limit + 1)
    if len(raw) > limit:
        message = _("This file is over %(megabytes)s MB: import it with the command line instead.")
        raise _FieldRefused("file", message % {"megabytes": limit // 1_000_000})
    try:
        return raw.decode("utf-8-sig"), source
    except UnicodeDecodeError as exc:
        raise ExportError(source, f"not UTF-8 text (byte {exc.start})") from None


def _unstaged(data: MultiDictProxy[Any]) -> tuple[str, str]:
    try:
        text = base64.b64decode(str(data.get("staged", "")), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _FieldRefused(
            "file", _("The file to import did not come back whole: choose it again.")
        ) from None
    return text, PurePath(str(data.get("source", ""))).name[:200] or "export.csv"


def _export_error(exc: ExportError) -> str:
    where = [exc.source]
    if exc.row is not None:
        where.append(_("row %(row)s") % {"row": exc.row})
    if exc.column is not None:
        where.append(_("column %(column)s") % {"column": exc.column})
    return f"{', '.join(where)}: {exc.message}"


@dataclass(frozen=True)
class ColumnRow:
    code: str
    label: str
    maps_to: str
    note: str
    unknown: bool


def _review(baselines: Baselines, text: str) -> dict[str, Any]:
    spec = CATALOGUE[baselines.dimension]
    maps_to = {
        Role.TOTAL: _("Total"),
        Role.PARTS: _("Its parts, one by one"),
        Role.WITHIN: _("Counted in the column above"),
        Role.UNKNOWN: _("Not mapped"),
    }
    columns = [
        ColumnRow(
            c.code,
            c.label,
            _(spec.band(c.band).label) if c.role is Role.BAND and c.band else maps_to[c.role],
            c.note,
            c.role is Role.UNKNOWN,
        )
        for c in baselines.proposal.columns
    ]
    return {
        "baselines": baselines,
        "dimension": _(spec.label),
        "universe": _(spec.universe),
        "columns": columns,
        "unknown": [c for c in columns if c.unknown],
        "left_out": [(r, why) for r in baselines.regions for why in r.left_out],
        "staged": base64.b64encode(text.encode()).decode(),
    }


def add_routes(app: web.Application) -> None:
    # Before /console/regions/{region_id}, which would take "new" and "import" for ids.
    app.router.add_get("/console/regions", regions_page)
    app.router.add_get("/console/regions/new", new_region_page)
    app.router.add_post("/console/regions/new", create_region)
    app.router.add_get("/console/regions/import", import_page)
    app.router.add_post("/console/regions/import", import_export)
    app.router.add_get("/console/regions/{region_id}", region_page)
    app.router.add_post("/console/regions/{region_id}", change_region)
