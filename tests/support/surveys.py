"""Surveys for tests: a document with a branch, in English and Spanish, and a survey stored
straight into the surveys schema (what the building API would store), so tests of answering
and results need not go through building."""

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.surveys.app import SPEC as SURVEYS
from services.surveys.building.definition import as_json, demographics_section
from shared.bus import Bus
from shared.runtime import build_app
from shared.settings import Settings


def text(english: str, spanish: str) -> dict[str, str]:
    return {"en": english, "es": spanish}


def branching_document(*, with_demographics: bool = False) -> dict[str, Any]:
    """Two pages: whether the resident works in manufacturing (yes shows what training they
    want), then how they rate the plan, and a comment."""
    sections: list[dict[str, Any]] = [
        {
            "title": text("Work", "Trabajo"),
            "questions": [
                {
                    "id": "works_in_manufacturing",
                    "type": "single_choice",
                    "required": True,
                    "prompt": text("Do you work in manufacturing?", "¿Trabaja en manufactura?"),
                    "options": [
                        {"id": "yes", "label": text("Yes", "Sí")},
                        {"id": "no", "label": text("No", "No")},
                    ],
                },
                {
                    "id": "training",
                    "type": "multiple_choice",
                    "prompt": text("Which training would help you?", "¿Qué capacitación le ayudaría?"),
                    "show_if": {"kind": "equals", "question": "works_in_manufacturing", "value": "yes"},
                    "options": [
                        {"id": "welding", "label": text("Welding", "Soldadura")},
                        {"id": "machining", "label": text("CNC machining", "Mecanizado CNC")},
                        {"id": "robotics", "label": text("Robotics", "Robótica")},
                    ],
                    "other": text("Other, please specify", "Otra, especifique"),
                    "max": 2,
                },
            ],
        },
        {
            "title": text("The plan", "El plan"),
            "questions": [
                {
                    "id": "plan_rating",
                    "type": "rating",
                    "required": True,
                    "prompt": text("How good is the plan, 0 to 10?", "¿Qué tan bueno es el plan, de 0 a 10?"),
                },
                {
                    "id": "comment",
                    "type": "long_text",
                    "max_length": 500,
                    "prompt": text("Anything else?", "¿Algo más?"),
                },
            ],
        },
    ]
    if with_demographics:
        sections.append(as_json(demographics_section(["en", "es"])))
    return {
        "main_language": "en",
        "languages": ["en", "es"],
        "title": text("Manufacturing the Dream", "Manufacturando el Sueño"),
        "sections": sections,
    }


async def a_survey(
    pool: asyncpg.Pool,
    document: dict[str, Any] | None = None,
    *,
    mode: str = "confidential",
    access: str = "public",
    status: str = "open",
    organisation_id: uuid.UUID | None = None,
    region_id: uuid.UUID | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    threshold: int = 5,
    results_public: bool = False,
) -> asyncpg.Record:
    """A survey with ``document`` as its version 1: its row (id, slug, organisation_id...)."""
    slug = f"s-{secrets.token_hex(6)}"
    async with pool.acquire() as conn, conn.transaction():
        survey = await conn.fetchrow(
            """INSERT INTO surveys (organisation_id, slug, mode, access, status, opens_at, closes_at,
                                    region_id, suppression_threshold, results_public)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *""",
            organisation_id or uuid.uuid4(),
            slug,
            mode,
            access,
            status,
            opens_at,
            closes_at,
            region_id,
            threshold,
            results_public,
        )
        await conn.execute(
            "INSERT INTO survey_versions (survey_id, version, document) VALUES ($1, 1, $2::text::jsonb)",
            survey["id"],
            json.dumps(document or branching_document()),
        )
    return survey


@pytest.fixture
async def surveys(settings: Settings, pools: dict[str, asyncpg.Pool], bus: Bus) -> AsyncIterator[TestClient]:
    """The surveys service's app, on a port of its own."""
    client = TestClient(TestServer(build_app(SURVEYS, settings, pools["surveys"], bus)))
    await client.start_server()
    yield client
    await client.close()
