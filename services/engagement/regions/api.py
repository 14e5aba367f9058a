"""The regions JSON API, and the writes the console makes too. Organizers and admins read regions
and their baselines; only admins create or change a region or import baselines: they are
reference data every organisation's campaigns and surveys are compared with, not one's own.
Every write has its audit entry in its transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.engagement.accounts.models import DisplayName
from services.engagement.community.api import ORGANIZER, _json, path_id, query_of, total
from services.engagement.community.changes import Writer
from services.engagement.community.models import PAGE_SIZE, pages
from services.engagement.regions import store
from services.engagement.regions.baselines import Baselines
from services.engagement.regions.importing import Imported, import_baselines
from services.engagement.regions.publishing import announcing
from shared.auth import ADMIN, check, requires
from shared.demographics import Dimension
from shared.http import POOL
from shared.openapi import Operation
from shared.problems import Problem, parse_json


class RegionKind(StrEnum):
    """As migration 0003 allows them."""

    CITY = "city"
    COUNTY = "county"
    METRO = "metro"
    AREA = "area"  # a group an organizer draws (a neighbourhood, a service area)
    ZIP = "zip"
    TRACT = "tract"


class RegionFields(BaseModel):
    """A region as an admin creates or changes it (all of it each time)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: DisplayName
    kind: RegionKind
    parent_id: UUID | None = Field(default=None, description="the region it lies inside")


class Region(BaseModel):
    # Read from rows: a name as the Census Bureau wrote it, which no form had to accept.
    model_config = ConfigDict(extra="ignore")
    id: UUID
    name: str
    kind: RegionKind
    parent_id: UUID | None
    parent_name: str | None
    geo_id: str | None = Field(description="the Census GEO_ID; none for a region drawn by hand")
    is_demo: bool
    dimensions: list[Dimension] = Field(description="the dimensions it has baselines in")
    created_at: datetime


class RegionList(BaseModel):
    items: list[Region]
    page: int
    pages: int


class BaselineFigure(BaseModel):
    dimension: Dimension
    band: str = Field(description="one of the dimension's bands, or total (its universe)")
    estimate: int
    margin_of_error: int | None = Field(description="at 90 %, as the Census Bureau publishes it")
    source_table: str
    source_year: int


class RegionDetail(Region):
    baselines: list[BaselineFigure]


class Why(StrEnum):
    UNKNOWN_PARENT = "unknown parent"
    INSIDE_ITSELF = "a region cannot be inside itself"
    NOT_FOUND = "no such region"


class RegionRefused(Exception):
    def __init__(self, why: Why) -> None:
        super().__init__(why.value)
        self.why = why


@dataclass(frozen=True)
class RegionWriter(Writer):
    """The community's writer (who writes, in which request) for regions and baselines."""

    @property
    def _actor(self) -> str:
        return f"account:{self.account.id}"

    async def save_region(self, region_id: UUID | None, fields: RegionFields) -> UUID:
        """Create (no id) or change a region; its id."""
        saved = region_id or uuid.uuid4()
        kind, name, parent = fields.kind.value, fields.name, fields.parent_id
        try:
            async with (
                self.pool.acquire() as conn,
                conn.transaction(),
                announcing(
                    conn, [saved, *filter(None, [parent])], correlation_id=self.request_id, actor=self._actor
                ),
            ):
                if region_id is None:
                    await store.insert_region(conn, saved, kind, name, parent)
                elif not await store.update_region(conn, saved, kind, name, parent):
                    raise RegionRefused(Why.NOT_FOUND)
                await self._audit(
                    conn, "region.changed" if region_id else "region.created", f"region:{saved}"
                )
        except asyncpg.ForeignKeyViolationError as exc:
            raise RegionRefused(Why.UNKNOWN_PARENT) from exc
        except asyncpg.CheckViolationError as exc:  # itself as parent, or a cycle (the trigger)
            raise RegionRefused(Why.INSIDE_ITSELF) from exc
        return saved

    async def import_baselines(self, baselines: Baselines) -> Imported:
        """All of the export's regions and figures with the audit entry, or nothing."""
        async with self.pool.acquire() as conn, conn.transaction():
            [done] = await import_baselines(
                conn, [baselines], correlation_id=self.request_id, actor=self._actor
            )
            target = f"baselines:{baselines.table}:{baselines.year} regions:{done.regions}"
            await self._audit(conn, "region.baselines_imported", target)
        return done


def refused(exc: RegionRefused) -> Problem:
    if exc.why is Why.NOT_FOUND:
        return Problem(404, "Not found", exc.why.value)
    errors = [{"field": "parent_id", "message": exc.why.value}]
    return Problem(422, "Refused", f"parent_id: {exc.why.value}", errors=errors)


def region_of(row: asyncpg.Record) -> Region:
    return Region.model_validate(dict(row))


@requires(ORGANIZER)
async def list_regions(request: web.Request) -> web.Response:
    query = query_of(request)
    rows = await store.regions(request.app[POOL], query.q, query.offset, PAGE_SIZE)
    return _json(
        RegionList(items=[region_of(row) for row in rows], page=query.page, pages=pages(total(rows)))
    )


@requires(ORGANIZER)
async def get_region(request: web.Request) -> web.Response:
    return await _region(request, path_id(request, "region_id"))


@requires(ADMIN)
async def create_region(request: web.Request) -> web.Response:
    writer = RegionWriter.of(request, check(request, ADMIN))
    fields = await parse_json(request, RegionFields)
    try:
        saved = await writer.save_region(None, fields)
    except RegionRefused as exc:
        raise refused(exc) from exc
    return await _region(request, saved, status=201)


@requires(ADMIN)
async def change_region(request: web.Request) -> web.Response:
    region_id = path_id(request, "region_id")
    writer = RegionWriter.of(request, check(request, ADMIN))
    fields = await parse_json(request, RegionFields)
    try:
        await writer.save_region(region_id, fields)
    except RegionRefused as exc:
        raise refused(exc) from exc
    return await _region(request, region_id)


async def _region(request: web.Request, region_id: UUID, status: int = 200) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        row = await store.region(conn, region_id)
        if row is None:
            raise Problem(404, "Not found", Why.NOT_FOUND.value)
        figures = await store.figures_of(conn, region_id)
    baselines = [BaselineFigure.model_validate(figure.model_dump()) for figure in figures]
    response = _json(RegionDetail(**region_of(row).model_dump(), baselines=baselines), status)
    response.headers["Location"] = f"/api/v1/regions/{region_id}"
    return response


REGIONS = "/api/v1/regions"
REGION = REGIONS + "/{region_id}"

OPERATIONS = (
    Operation(
        "GET",
        REGIONS,
        "Regions, searched by name (?q=) a page at a time (?page=), with their parent",
        response=RegionList,
        problems=(422,),
        need=ORGANIZER,
    ),
    Operation(
        "POST",
        REGIONS,
        "Create a region inside another or on its own (admins only)",
        request=RegionFields,
        response=RegionDetail,
        status=201,
        need=ADMIN,
    ),
    Operation(
        "GET",
        REGION,
        "One region with its population baselines, each with its source and margin of error",
        response=RegionDetail,
        problems=(404,),
        need=ORGANIZER,
    ),
    Operation(
        "PUT",
        REGION,
        "Change a region: its name, kind and parent, never one inside itself (admins only)",
        request=RegionFields,
        response=RegionDetail,
        problems=(404,),
        need=ADMIN,
    ),
)


def add_routes(app: web.Application) -> None:
    app.router.add_get(REGIONS, list_regions)
    app.router.add_post(REGIONS, create_region)
    app.router.add_get(REGION, get_region)
    app.router.add_put(REGION, change_region)
