"""Every write to a competition, each with its ledger entry in the same transaction: its places
and weighted criteria, an application received, a conflict of interest declared, a reviewer's
scores. Each step is a function of the locked decision that answers the ledger entry it makes,
so the API and pages (through the Writer, as the signed-in organizer) and the demo loader (as
the operator) take the same steps under the same rules."""

import uuid
from typing import Any
from uuid import UUID

import asyncpg

from services.engagement.decisions import competition_store, ledger_store, store
from services.engagement.decisions.changes import Refused, Writer
from services.engagement.decisions.competition import (
    ApplicationFields,
    CompetitionFields,
    Conflict,
    ScoreSheet,
    hundredths,
    sheet_refusal,
    weighted_score,
)
from services.engagement.decisions.ledger import Kind, Step
from services.engagement.decisions.models import Body, Stage, consults
from shared.db import DbConnection

_SCORING = (Stage.CONSULTATION, Stage.DELIBERATION)


def _panel(decision: asyncpg.Record) -> None:
    if decision["body"] != Body.REVIEW_PANEL:
        raise Refused(409, "a competition is decided by a review panel: propose it with that body")


async def _places(conn: DbConnection, decision_id: UUID) -> int:
    found = await competition_store.competition(conn, decision_id)
    if found is None:
        raise Refused(409, "set the competition's places and criteria first")
    return int(found["places"])


async def set_competition(
    conn: DbConnection, decision_id: UUID, decision: asyncpg.Record, fields: CompetitionFields
) -> Step:
    _panel(decision)
    if not consults(Stage(decision["stage"])):
        raise Refused(409, "the criteria are set before deliberation begins")
    if await competition_store.any_score(conn, decision_id):
        raise Refused(409, "the criteria are fixed once an application is scored", "criteria")
    await competition_store.set_competition(conn, decision_id, fields)
    return Step(decision_id, Kind.COMPETITION_SET, fields.model_dump(mode="json"))


async def receive(
    conn: DbConnection, decision_id: UUID, decision: asyncpg.Record, fields: ApplicationFields
) -> tuple[UUID, Step]:
    await _places(conn, decision_id)
    if not consults(Stage(decision["stage"])):
        raise Refused(409, "applications are received before deliberation begins")
    if fields.contact_person_id is not None and not await competition_store.person_exists(
        conn, fields.contact_person_id
    ):
        raise Refused(422, "no such person", "contact_person_id")
    application_id = uuid.uuid4()
    if not await competition_store.receive(conn, application_id, decision_id, fields):
        raise Refused(409, "this community has applied already", "community")
    # The contact is a person: never in the ledger (erasing them leaves every entry as it was).
    payload = {
        "application_id": str(application_id),
        **fields.model_dump(mode="json", exclude={"contact_person_id"}),
    }
    return application_id, Step(decision_id, Kind.APPLICATION_RECEIVED, payload)


async def _application(conn: DbConnection, decision_id: UUID, application_id: UUID) -> asyncpg.Record:
    found = await competition_store.application(conn, decision_id, application_id)
    if found is None:
        raise Refused(404, "not an application to this competition", "application_id")
    return found


async def _reviewer(conn: DbConnection, decision_id: UUID, position: int) -> asyncpg.Record:
    members = {member["position"]: member for member in await store.votes(conn, decision_id)}
    if position not in members:
        raise Refused(422, "no such member of the panel", "reviewer")
    return members[position]


async def declare(
    conn: DbConnection, decision_id: UUID, decision: asyncpg.Record, application_id: UUID, conflict: Conflict
) -> Step:
    """A reviewer's conflict with an application: they score it never, and any scores they gave
    it are withdrawn (the entries that gave them stay, and this one says so)."""
    await _places(conn, decision_id)
    if Stage(decision["stage"]) not in (Stage.PROPOSED, *_SCORING):
        raise Refused(409, "conflicts are declared before the outcome is recorded")
    application = await _application(conn, decision_id, application_id)
    reviewer = await _reviewer(conn, decision_id, conflict.reviewer)
    withdrawn = await competition_store.declare(conn, application_id, conflict.reviewer, conflict.reason)
    if withdrawn is None:
        raise Refused(409, "declared already", "reviewer")
    payload = {
        **_about(application, reviewer),
        "reason": conflict.reason,
        "scores_withdrawn": withdrawn,
    }
    return Step(decision_id, Kind.CONFLICT_DECLARED, payload)


async def score(
    conn: DbConnection, decision_id: UUID, decision: asyncpg.Record, application_id: UUID, sheet: ScoreSheet
) -> Step | None:
    """A reviewer's sheet for an application. Scored before (until the outcome is recorded):
    the new sheet replaces the one counted, and its entry names the entry it replaces
    (``replaces``, in the payload: the ledger's ``corrects`` is a correction's alone, and a
    verifier holds it to that). The same scores again: nothing to record (None)."""
    await _places(conn, decision_id)
    if Stage(decision["stage"]) not in _SCORING:
        raise Refused(409, "applications are scored during consultation and deliberation")
    application = await _application(conn, decision_id, application_id)
    criteria = await competition_store.criteria(conn, decision_id)
    members = await store.votes(conn, decision_id)
    refusal = sheet_refusal(
        sheet,
        len(criteria),
        len(members),
        await competition_store.conflicted(conn, application_id, sheet.reviewer),
    )
    if refusal is not None:
        raise Refused(409 if "conflict" in refusal else 422, refusal, "reviewer")
    given = {s.criterion: s.score for s in sheet.scores}
    counted = await competition_store.counted(conn, application_id, sheet.reviewer)
    if counted == given:
        return None
    await competition_store.score(conn, application_id, sheet)
    weighted = weighted_score([c["weight"] for c in criteria], [given])
    payload: dict[str, Any] = {
        **_about(application, members[sheet.reviewer - 1]),
        "scores": [s.model_dump() for s in sorted(sheet.scores, key=lambda s: s.criterion)],
        "score_hundredths": hundredths(weighted),
    }
    if counted:
        holding = {"application_id": str(application_id), "reviewer": sheet.reviewer}
        payload["replaces"] = await ledger_store.latest(conn, decision_id, Kind.REVIEW_SCORED, holding)
    return Step(decision_id, Kind.REVIEW_SCORED, payload)


def _about(application: asyncpg.Record, reviewer: asyncpg.Record) -> dict[str, Any]:
    return {
        "application_id": str(application["id"]),
        "community": application["community"],
        "reviewer": reviewer["position"],
        "name": reviewer["name"],
    }


class CompetitionWriter(Writer):
    """The competition's steps as the signed-in organizer, each checked and recorded as theirs."""

    async def _step(self, decision_id: UUID, action: str, take: Any) -> Any:
        """The step ``take`` makes of the locked decision, recorded (none: nothing to record)."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, decision_id)
            found = await take(conn, row)
            step = found[1] if isinstance(found, tuple) else found
            if step is not None:
                await self._record(conn, row, step, action)
            return found[0] if isinstance(found, tuple) else step

    async def set_competition(self, decision_id: UUID, fields: CompetitionFields) -> None:
        await self._step(
            decision_id, "competition_set", lambda conn, row: set_competition(conn, decision_id, row, fields)
        )

    async def receive(self, decision_id: UUID, fields: ApplicationFields) -> UUID:
        found: UUID = await self._step(
            decision_id, "application_received", lambda conn, row: receive(conn, decision_id, row, fields)
        )
        return found

    async def declare(self, decision_id: UUID, application_id: UUID, conflict: Conflict) -> None:
        await self._step(
            decision_id,
            "conflict_declared",
            lambda conn, row: declare(conn, decision_id, row, application_id, conflict),
        )

    async def score(self, decision_id: UUID, application_id: UUID, sheet: ScoreSheet) -> bool:
        """Whether the sheet changed the reviewer's scores (and was recorded)."""
        step = await self._step(
            decision_id,
            "review_scored",
            lambda conn, row: score(conn, decision_id, row, application_id, sheet),
        )
        return step is not None
