"""The SQL of competitions: places and criteria, applications, conflicts of interest declared,
reviewers' scores, and the designations the outcome sets."""

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.engagement.community.store import Db
from services.engagement.decisions.competition import (
    ApplicationFields,
    CompetitionFields,
    Ranked,
    ScoreSheet,
)


async def competition(conn: Db, decision_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT places FROM competitions WHERE decision_id = $1", decision_id
    )
    return row


async def criteria(conn: Db, decision_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT position, name, description, weight FROM competition_criteria
           WHERE decision_id = $1 ORDER BY position""",
        decision_id,
    )


async def any_score(conn: Db, decision_id: UUID) -> bool:
    found: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM competition_scores s
                          JOIN competition_applications a ON a.id = s.application_id
                          WHERE a.decision_id = $1)""",
        decision_id,
    )
    return found


async def set_competition(conn: Db, decision_id: UUID, fields: CompetitionFields) -> None:
    """Its places and criteria, replacing any set before (the caller checked none is scored)."""
    await conn.execute(
        """INSERT INTO competitions (decision_id, places) VALUES ($1, $2)
           ON CONFLICT (decision_id) DO UPDATE SET places = $2""",
        decision_id,
        fields.places,
    )
    await conn.execute("DELETE FROM competition_criteria WHERE decision_id = $1", decision_id)
    await conn.execute(
        """INSERT INTO competition_criteria (decision_id, position, name, description, weight)
           SELECT $1, position, name, description, weight
           FROM unnest($2::text[], $3::text[], $4::int[])
                WITH ORDINALITY AS c (name, description, weight, position)""",
        decision_id,
        [c.name for c in fields.criteria],
        [c.description for c in fields.criteria],
        [c.weight for c in fields.criteria],
    )


async def receive(conn: Db, application_id: UUID, decision_id: UUID, fields: ApplicationFields) -> bool:
    """False when the community has applied already."""
    done: str = await conn.execute(
        """INSERT INTO competition_applications (id, decision_id, community, lead, summary, document_links,
                                                 contact_person_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (decision_id, community) DO NOTHING""",
        application_id,
        decision_id,
        fields.community,
        fields.lead,
        fields.summary,
        list(fields.document_links),
        fields.contact_person_id,
    )
    return done.endswith(" 1")


async def person_exists(conn: Db, person_id: UUID) -> bool:
    found: bool = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM people WHERE id = $1)", person_id)
    return found


async def application(conn: Db, decision_id: UUID, application_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, community, lead FROM competition_applications WHERE id = $1 AND decision_id = $2",
        application_id,
        decision_id,
    )
    return row


async def applications(conn: Db, decision_id: UUID) -> list[asyncpg.Record]:
    """Every application, best ranked first once designated (of a shared rank, the designated
    first: a tie broken by the panel's vote), else in the order received."""
    return await conn.fetch(
        """SELECT id, community, lead, summary, document_links, contact_person_id, received_at, rank,
                  designated
           FROM competition_applications WHERE decision_id = $1
           ORDER BY rank NULLS LAST, designated DESC, received_at, community""",
        decision_id,
    )


async def conflicted(conn: Db, application_id: UUID, reviewer: int) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM competition_conflicts WHERE application_id = $1 AND reviewer = $2)",
        application_id,
        reviewer,
    )
    return found


async def declare(conn: Db, application_id: UUID, reviewer: int, reason: str) -> int | None:
    """The conflict kept, and the reviewer's scores of the application withdrawn (how many);
    None when it was declared already."""
    done: str = await conn.execute(
        """INSERT INTO competition_conflicts (application_id, reviewer, reason) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING""",
        application_id,
        reviewer,
        reason,
    )
    if not done.endswith(" 1"):
        return None
    withdrawn: str = await conn.execute(
        "DELETE FROM competition_scores WHERE application_id = $1 AND reviewer = $2", application_id, reviewer
    )
    return int(withdrawn.split()[-1])


async def reviewed(conn: Db, decision_id: UUID) -> bool:
    """Whether any application was scored or had a conflict declared: both name reviewers by
    their place in the panel."""
    found: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM competition_conflicts c
                          JOIN competition_applications a ON a.id = c.application_id
                          WHERE a.decision_id = $1)""",
        decision_id,
    )
    return found or await any_score(conn, decision_id)


async def counted(conn: Db, application_id: UUID, reviewer: int) -> dict[int, int]:
    """The reviewer's scores of the application that count (criterion -> score); empty: none."""
    rows = await conn.fetch(
        "SELECT criterion, score FROM competition_scores WHERE application_id = $1 AND reviewer = $2",
        application_id,
        reviewer,
    )
    return {row["criterion"]: row["score"] for row in rows}


async def score(conn: Db, application_id: UUID, sheet: ScoreSheet) -> None:
    """The reviewer's scores of the application, replacing any they gave before: the newest
    counts (the ledger keeps every sheet)."""
    await conn.execute(
        """INSERT INTO competition_scores (application_id, reviewer, criterion, score)
           SELECT $1, $2, criterion, score FROM unnest($3::int[], $4::int[]) AS s (criterion, score)
           ON CONFLICT (application_id, reviewer, criterion) DO UPDATE SET score = excluded.score""",
        application_id,
        sheet.reviewer,
        [s.criterion for s in sheet.scores],
        [s.score for s in sheet.scores],
    )


async def scores(conn: Db, decision_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT s.application_id, s.reviewer, s.criterion, s.score
           FROM competition_scores s JOIN competition_applications a ON a.id = s.application_id
           WHERE a.decision_id = $1""",
        decision_id,
    )


async def conflicts(conn: Db, decision_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT c.application_id, c.reviewer, c.reason, c.declared_at
           FROM competition_conflicts c JOIN competition_applications a ON a.id = c.application_id
           WHERE a.decision_id = $1 ORDER BY c.declared_at""",
        decision_id,
    )


async def designate(conn: Db, ranked: Sequence[Ranked], designating: bool) -> None:
    """Each application's rank, and whether it was designated (none are, when ``designating``
    is false: a rejected or deferred competition)."""
    await conn.execute(
        """UPDATE competition_applications a SET rank = r.rank, designated = r.designated AND $4
           FROM unnest($1::uuid[], $2::int[], $3::bool[]) AS r (id, rank, designated)
           WHERE a.id = r.id""",
        [r.application_id for r in ranked],
        [r.rank for r in ranked],
        [r.designated for r in ranked],
        designating,
    )
