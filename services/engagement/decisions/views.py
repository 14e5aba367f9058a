"""A decision as the public sees it, read once for its page and its API answer: the decision,
the timeline of its stages, its consultations with their participation, its respondents'
representativeness, the equity impact assessment, the votes by name, how input was used, its
ledger entries, and whether the whole ledger verifies."""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from services.engagement.decisions import ledger_store, store
from services.engagement.decisions.competition_views import CompetitionView, competition_of
from services.engagement.decisions.models import Assessment, ConsultationKind, Decision, Stage, Vote
from services.engagement.decisions.participation import DimensionRows, representativeness
from shared.db import DbConnection


class StageDate(BaseModel):
    stage: Stage
    entered_at: datetime


class Consultation(BaseModel):
    kind: str
    target_id: UUID
    linked_at: datetime
    closed_at: datetime | None
    what_we_heard: str
    how_used: str
    participants: int | None  # counted when closed; while open, so far
    registered: int | None


class MemberVoteView(BaseModel):
    position: int
    name: str
    seat: str
    vote: Vote | None
    reason: str


class Verification(BaseModel):
    verifies: bool
    entries: int
    head: str
    bad_at: int | None
    problem: str


class DecisionRecord(BaseModel):
    decision: Decision
    stages: list[StageDate]
    consultations: list[Consultation]
    competition: CompetitionView | None
    ballot: dict[str, Any] | None  # how a resident ballot's outcome was computed (ballots.py)
    representativeness: list[DimensionRows]
    assessment: Assessment | None
    votes: list[MemberVoteView]
    entries: list[dict[str, Any]]
    ledger: Verification


def decision_of(row: asyncpg.Record) -> Decision:
    return Decision.model_validate({**dict(row), "members": json.loads(row["members"])})


async def verification(conn: DbConnection) -> Verification:
    verdict = await ledger_store.verified(conn)
    return Verification(
        verifies=verdict.verifies,
        entries=verdict.entries,
        head=verdict.head,
        bad_at=verdict.bad_at,
        problem=verdict.problem,
    )


async def _consultation(conn: DbConnection, row: asyncpg.Record) -> Consultation:
    """A consultation with the participation counted when it closed, or counted so far."""
    consultation = Consultation.model_validate(dict(row))
    if consultation.closed_at is not None:
        return consultation
    participants, registered = await store.participation(
        conn, ConsultationKind(row["kind"]), row["target_id"]
    )
    return consultation.model_copy(update={"participants": participants, "registered": registered})


async def record_of(pool: asyncpg.Pool, decision_id: UUID) -> DecisionRecord | None:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        row = await store.decision(conn, decision_id)
        if row is None:
            return None
        consultations = [await _consultation(conn, c) for c in await store.consultations(conn, decision_id)]
        surveys = [c.target_id for c in consultations if c.kind == "survey"]
        counts = [
            (r["dimension"], r["band"], r["respondents"]) for r in await store.band_counts(conn, surveys)
        ]
        baseline = [
            (r["dimension"], r["band"], r["estimate"]) for r in await store.baseline(conn, row["region_id"])
        ]
        return DecisionRecord(
            decision=decision_of(row),
            stages=[StageDate.model_validate(dict(s)) for s in await store.stages(conn, decision_id)],
            consultations=consultations,
            competition=await competition_of(conn, decision_id),
            ballot=None if row["ballot"] is None else json.loads(row["ballot"]),
            representativeness=representativeness(counts, baseline) if surveys else [],
            assessment=await store.assessment(conn, decision_id),
            votes=[MemberVoteView.model_validate(dict(v)) for v in await store.votes(conn, decision_id)],
            entries=await ledger_store.of_decision(conn, decision_id),
            ledger=await verification(conn),
        )
