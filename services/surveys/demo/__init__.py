"""The demo's surveys, labelled as demo: the Bay Area initiative's "Manufacturing the Dream"
(confidential, public link and invitations, over the initiative's nine counties, answered by
residents across its 30 cities) and the Northside industrial site's survey (anonymous, public,
over Portland), each with the standard demographics section.

Loaded once the platform runs, not while it is prepared: a response is placed in a city by its
ZIP code through surveys' own copy of engagement's regions, which fills as engagement's events
arrive; loading before would place nobody. The responses go through the submission path a
resident's does (``submission.apply``), with keys derived from their number, so loading again
finds them all recorded and writes nothing. The anonymous survey's responses wait, as any
anonymous response does, for the release to store them together.

Idempotent: a survey is found by its fixed slug, and is left as it is (an organizer's edits are
kept) when it is there."""

import json
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from services.surveys.answering.submission import Status, Submission, apply
from services.surveys.building import store
from services.surveys.building.definition import as_json, demographics_section, parse_document
from services.surveys.building.models import NewSurvey
from services.surveys.demo.answers import answers
from shared import demo_ids
from shared.db import DbConnection

_NAMESPACE = uuid.UUID("2d4b8f16-9a3e-4c7d-b1e5-7f60a2c9d384")
DOCUMENTS = Path(__file__).parent
BATCH = 100


@dataclass(frozen=True)
class DemoSurvey:
    slug: str
    document: str  # its file in this folder, without .json
    mode: str
    access: str
    responses: int
    results_public: bool = False


DREAM = DemoSurvey("demo-manufacturing-the-dream", "manufacturing_the_dream", "confidential", "both", 640)
NORTHSIDE = DemoSurvey(
    "demo-northside-site", "northside_site", "anonymous", "public", 60, results_public=True
)


@dataclass(frozen=True)
class Owners:
    """Engagement's demo ids the surveys belong to and are compared with."""

    initiative: UUID  # the Bay Area initiative's organisation
    bay_area: UUID
    campaign: UUID  # Manufacturing the Dream
    land_use_organisation: UUID
    portland: UUID


def document(survey: DemoSurvey) -> dict[str, object]:
    raw = json.loads((DOCUMENTS / f"{survey.document}.json").read_text())
    raw["sections"].append(as_json(demographics_section(raw["languages"])))
    return raw


async def regions_known(conn: DbConnection, *region_ids: UUID) -> bool:
    """Whether surveys' copy of the regions holds all of these (with their ZIP codes)."""
    found = await conn.fetchval(
        "SELECT count(*) FROM regions WHERE id = ANY($1) AND cardinality(zip_codes) > 0", list(region_ids)
    )
    return bool(found == len(region_ids))


async def load(conn: DbConnection, owners: Owners) -> int:
    """Both surveys and their responses; returns how many responses were new (an anonymous one
    waiting for its release counts)."""
    recorded = 0
    for survey, organisation, region, campaign in (
        (DREAM, owners.initiative, owners.bay_area, owners.campaign),
        (NORTHSIDE, owners.land_use_organisation, owners.portland, None),
    ):
        await _survey(conn, survey, organisation, region, campaign)
        recorded += await _responses(conn, survey, region)
    return recorded


async def _survey(
    conn: DbConnection, survey: DemoSurvey, organisation: UUID, region: UUID, campaign: UUID | None
) -> None:
    async with conn.transaction():
        if await conn.fetchval("SELECT id FROM surveys WHERE slug = $1", survey.slug) is not None:
            return
        raw = document(survey)
        fields = NewSurvey(
            organisation_id=organisation,
            mode=survey.mode,
            access=survey.access,
            region_id=region,
            campaign_id=campaign,
            results_public=survey.results_public,
            document=raw,
        )
        survey_id = await store.insert(
            conn, fields, survey.slug, store.document_text(raw), demo_ids.survey_id(survey.slug)
        )
        await conn.execute("UPDATE surveys SET is_demo = true WHERE id = $1", survey_id)
        await store.set_status(conn, survey_id, "open")


async def _responses(conn: DbConnection, survey: DemoSurvey, region: UUID) -> int:
    """The survey's responses, from residents of the places inside ``region`` (each place by
    the ZIP codes surveys knows it by)."""
    places = await conn.fetch(
        """WITH RECURSIVE inside AS (
               SELECT id, zip_codes FROM regions WHERE id = $1
               UNION ALL
               SELECT r.id, r.zip_codes FROM regions r JOIN inside ON r.parent_id = inside.id)
           SELECT zip_codes FROM inside WHERE cardinality(zip_codes) > 1 OR id <> $1
           ORDER BY id""",
        region,
    )
    zip_codes = sorted({code for place in places for code in place["zip_codes"]})
    parsed = parse_document(document(survey))
    rng = random.Random(survey.slug)
    submissions = [
        Submission(
            slug=survey.slug,
            key=uuid.uuid5(_NAMESPACE, f"{survey.slug}:{n}"),
            answers=answers(parsed, rng, rng.choice(zip_codes) if zip_codes else None),
            language="es" if rng.random() < 0.2 else "en",
        )
        for n in range(survey.responses)
    ]
    recorded = 0
    for start in range(0, len(submissions), BATCH):
        async with conn.transaction():
            outcomes = await apply(conn, submissions[start : start + BATCH])
        refused = [o for o in outcomes if o.status not in (Status.RECORDED, Status.REPEAT)]
        if refused:
            raise RuntimeError(f"the demo's responses to {survey.slug} were refused: {refused[0]}")
        recorded += sum(o.status is Status.RECORDED for o in outcomes)
    return recorded
