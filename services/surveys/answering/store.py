"""The SQL of answering, beside the batch a submission is written in (submission.py): the
survey a link names, an invitation's state, and the drafts of residents part-way through."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from services.surveys.building.lifecycle import Phase, phase
from shared.db import DbConnection

Db = DbConnection | asyncpg.Pool

SURVEY_COLUMNS = """id, slug, organisation_id, mode, access, status, opens_at, closes_at, region_id,
                    campaign_id, current_version, suppression_threshold"""


@dataclass(frozen=True)
class Survey:
    id: UUID
    slug: str
    organisation_id: UUID
    mode: str
    access: str
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    region_id: UUID | None
    campaign_id: UUID | None
    current_version: int
    suppression_threshold: int

    def phase(self, now: datetime) -> Phase:
        return phase(self.status, self.opens_at, self.closes_at, now)

    @classmethod
    def of(cls, row: asyncpg.Record) -> "Survey":
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


async def surveys_by_slug(db: Db, slugs: Sequence[str]) -> dict[str, Survey]:
    query = f"SELECT {SURVEY_COLUMNS} FROM surveys WHERE slug = ANY($1::text[])"  # noqa: S608 (no input)
    rows = await db.fetch(query, slugs)
    return {row["slug"]: Survey.of(row) for row in rows}


async def survey_by_slug(db: Db, slug: str) -> Survey | None:
    return (await surveys_by_slug(db, [slug])).get(slug)


async def invitation_used(db: Db, survey_id: UUID, token_hash: bytes) -> bool | None:
    """Whether the invitation is used; None when the survey has no such invitation."""
    used: bool | None = await db.fetchval(
        "SELECT used FROM invitations WHERE token_hash = $1 AND survey_id = $2", token_hash, survey_id
    )
    return used


async def submitted(db: Db, key: UUID) -> bool:
    return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM submissions WHERE key = $1)", key))


@dataclass(frozen=True)
class Draft:
    key: UUID
    survey_id: UUID
    version: int
    token_hash: bytes | None
    answers: dict[str, object]
    page: int
    language: str


async def start_draft(
    db: Db, key: UUID, survey_id: UUID, version: int, token_hash: bytes | None, language: str
) -> None:
    await db.execute(
        """INSERT INTO drafts (key, survey_id, version, token_hash, language)
           VALUES ($1, $2, $3, $4, $5)""",
        key,
        survey_id,
        version,
        token_hash,
        language,
    )


async def draft(db: Db, key: UUID) -> Draft | None:
    row = await db.fetchrow(
        """SELECT key, survey_id, version, token_hash, answers::text AS answers, page, language
           FROM drafts WHERE key = $1""",
        key,
    )
    if row is None:
        return None
    return Draft(**{**dict(row), "answers": json.loads(row["answers"])})


async def save_draft(db: Db, key: UUID, answers: Mapping[str, object], page: int, language: str) -> None:
    """The answers so far; the date only (not the time) of the change, as the table keeps it."""
    await db.execute(
        """UPDATE drafts SET answers = $2::text::jsonb, page = $3, language = $4, updated_at = current_date
           WHERE key = $1""",
        key,
        json.dumps(answers),
        page,
        language,
    )
