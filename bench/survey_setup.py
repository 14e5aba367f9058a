"""The survey both survey figures use, stored straight into the surveys schema (what the building
API would store), and plausible answers to it.

The document has the shape of a real one: a first page whose answer shows or hides a question
(works in manufacturing -> which training), a rating and a comment, and the standard demographics
section, so every response also counts in the cross-tabs (by region and by each demographic
answer) as the results page reads them. Surveys' regions hold a city and three districts, whose
ZIP codes the answers give."""

import json
import random
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from services.surveys.building.definition import SurveyDocument, demographics_section, parse_document
from shared.db import DbConnection
from shared.demographics import CATALOGUE, Dimension

DISTRICTS = {"Bench North": ("94601", "94602"), "Bench South": ("94603",), "Bench East": ("94605", "94606")}
COMMENTS = (
    "More evening classes, please.",
    "The plan forgets the bus lines to the industrial park.",
    "Good start; the apprenticeships should pay from the first day.",
)


def _text(english: str, spanish: str) -> dict[str, str]:
    return {"en": english, "es": spanish}


def document() -> dict[str, Any]:
    """Two pages with a branch, and the demographics section."""
    work = {
        "title": _text("Work", "Trabajo"),
        "questions": [
            {
                "id": "works_in_manufacturing",
                "type": "single_choice",
                "required": True,
                "prompt": _text("Do you work in manufacturing?", "¿Trabaja en manufactura?"),
                "options": [
                    {"id": "yes", "label": _text("Yes", "Sí")},
                    {"id": "no", "label": _text("No", "No")},
                ],
            },
            {
                "id": "training",
                "type": "multiple_choice",
                "prompt": _text("Which training would help you?", "¿Qué capacitación le ayudaría?"),
                "show_if": {"kind": "equals", "question": "works_in_manufacturing", "value": "yes"},
                "options": [
                    {"id": "welding", "label": _text("Welding", "Soldadura")},
                    {"id": "machining", "label": _text("CNC machining", "Mecanizado CNC")},
                    {"id": "robotics", "label": _text("Robotics", "Robótica")},
                ],
                "other": _text("Other, please specify", "Otra, especifique"),
                "max": 2,
            },
        ],
    }
    plan = {
        "title": _text("The plan", "El plan"),
        "questions": [
            {
                "id": "plan_rating",
                "type": "rating",
                "required": True,
                "prompt": _text("How good is the plan, 0 to 10?", "¿Qué tan bueno es el plan, de 0 a 10?"),
            },
            {
                "id": "comment",
                "type": "long_text",
                "max_length": 500,
                "prompt": _text("Anything else?", "¿Algo más?"),
            },
        ],
    }
    about_you = demographics_section(["en", "es"]).model_dump(mode="json", exclude_none=True)
    return {
        "main_language": "en",
        "languages": ["en", "es"],
        "title": _text("Manufacturing the Dream", "Manufacturando el Sueño"),
        "sections": [work, plan, about_you],
    }


@dataclass(frozen=True)
class BenchSurvey:
    id: uuid.UUID
    slug: str
    organisation_id: uuid.UUID
    region_id: uuid.UUID  # the city; its districts hold the ZIP codes answered
    document: SurveyDocument


async def store_survey(conn: DbConnection) -> BenchSurvey:
    """An open, confidential survey with public access, of the city and its districts; as the
    serving role or the owner (search_path surveys or not: names are qualified)."""
    city = uuid.uuid4()
    raw = document()
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO surveys.regions (id, name, kind) VALUES ($1, 'Bench City', 'city')", city
        )
        await conn.executemany(
            "INSERT INTO surveys.regions (id, name, kind, parent_id, zip_codes)"
            " VALUES ($1, $2, 'area', $3, $4)",
            [(uuid.uuid4(), name, city, list(zips)) for name, zips in DISTRICTS.items()],
        )
        survey = await conn.fetchrow(
            """INSERT INTO surveys.surveys (organisation_id, slug, mode, access, status, region_id)
               VALUES ($1, $2, 'confidential', 'public', 'open', $3) RETURNING id, slug, organisation_id""",
            uuid.uuid4(),
            f"bench-{secrets.token_hex(6)}",
            city,
        )
        assert survey is not None
        await conn.execute(
            # Text cast to jsonb: the same with or without a pool's jsonb codec.
            "INSERT INTO surveys.survey_versions (survey_id, version, document)"
            " VALUES ($1, 1, $2::text::jsonb)",
            survey["id"],
            json.dumps(raw),
        )
    return BenchSurvey(survey["id"], survey["slug"], survey["organisation_id"], city, parse_document(raw))


def _band(rng: random.Random, dimension: Dimension) -> str:
    return rng.choice(CATALOGUE[dimension].bands).code


def answers(rng: random.Random) -> dict[str, Any]:
    """One resident's valid answers: the branch taken about half the time, the demographics
    answered by most, each question of it skipped now and then, as people do."""
    given: dict[str, Any] = {"plan_rating": rng.randint(0, 10)}
    if rng.random() < 0.45:
        given["works_in_manufacturing"] = {"choice": "yes"}
        choices = rng.sample(["welding", "machining", "robotics"], rng.randint(0, 2))
        training: dict[str, Any] = {"choices": choices}
        if len(choices) < 2 and rng.random() < 0.1:
            training["other"] = "Forklift licence"
        if choices or "other" in training:
            given["training"] = training
    else:
        given["works_in_manufacturing"] = {"choice": "no"}
    if rng.random() < 0.2:
        given["comment"] = rng.choice(COMMENTS)
    for dimension in Dimension:
        if rng.random() < 0.85:
            if dimension is Dimension.RACE_ETHNICITY:
                given[dimension.value] = {"choices": [_band(rng, dimension)]}
            else:
                given[dimension.value] = {"choice": _band(rng, dimension)}
    if rng.random() < 0.9:
        given["postal_code"] = rng.choice([z for zips in DISTRICTS.values() for z in zips])
    return given
