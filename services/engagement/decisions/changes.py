"""Every write to a decision, each with its ledger entry and its audit entry in the same
transaction (and the outcome with ``decision.recorded`` in the outbox): the change, its record
and its announcement are kept together or not at all. The API and the console pages both write
through here. Each write locks the decision first, so the rules are checked against the stage it
has when it changes."""

import uuid
from typing import Any
from uuid import UUID

import asyncpg

from services.engagement.accounts.audit import AuditedWriter
from services.engagement.decisions import competition_store, designations, ledger_store, store
from services.engagement.decisions.ballots import BallotRefused, ballot_result
from services.engagement.decisions.competition import NotRankable, Ranked, TieBreakRefused, TiedAtCut
from services.engagement.decisions.ledger import Author, Kind, Step
from services.engagement.decisions.models import (
    Assessment,
    Closing,
    ConsultationKind,
    ConsultationLink,
    Correction,
    DecisionFields,
    MemberVote,
    Method,
    Outcome,
    Recording,
    Refusal,
    Stage,
    consults,
    details_changed,
    edit_refusal,
    next_stage,
    recording_refusal,
)
from shared.auth import Role, organisation
from shared.contracts import Event
from shared.contracts.decisions import ApplicationDecided, DecisionRecorded, InputUsed
from shared.db import DbConnection
from shared.outbox import emit

PRODUCER = "engagement"


class Refused(Exception):
    """A write the rules refuse: the status to answer, the field it is about (or None) and why."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field


NOT_FOUND = Refused(404, "no such decision")
_FOREIGN_KEYS = {
    "decisions_organisation_id_fkey": ("organisation_id", "no such organisation"),
    "decisions_region_id_fkey": ("region_id", "no such region"),
}


def _foreign_key(exc: asyncpg.ForeignKeyViolationError) -> Refused:
    field, detail = _FOREIGN_KEYS.get(exc.constraint_name or "", (None, "no such organisation"))
    return Refused(422, detail, field)


class Writer(AuditedWriter):
    async def _author(self, conn: DbConnection, organisation_id: UUID) -> Author:
        """The account by its name as shown now, in the role it writes in: organizer of the
        decision's organisation, or admin."""
        name = await store.account_name(conn, self.account.id) or f"account {str(self.account.id)[:8]}"
        organizer = any(g.role is Role.ORGANIZER and g.scope == organisation_id for g in self.account.grants)
        return Author(self.account.id, name, f"organizer:{organisation_id}" if organizer else "admin")

    async def _locked(self, conn: DbConnection, decision_id: UUID) -> asyncpg.Record:
        row = await store.lock(conn, decision_id)
        if row is None:
            raise NOT_FOUND
        if not organisation(row["organisation_id"]).met_by(self.account):
            raise Refused(403, "not a decision of your organisations")
        return row

    async def _record(
        self, conn: DbConnection, row: asyncpg.Record, step: Step, action: str
    ) -> dict[str, Any]:
        entry = await ledger_store.append(conn, step, await self._author(conn, row["organisation_id"]))
        await self._audit(conn, f"decision.{action}", f"decision:{step.decision_id}")
        return entry

    async def create(self, fields: DecisionFields) -> UUID:
        """A proposed decision; the caller has checked the account may write for its organisation."""
        decision_id = uuid.uuid4()
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await store.insert(conn, decision_id, fields)
                row = await self._locked(conn, decision_id)
                await self._record(
                    conn, row, Step(decision_id, Kind.CREATED, created_payload(fields)), "created"
                )
        except asyncpg.ForeignKeyViolationError as exc:
            raise _foreign_key(exc) from exc
        return decision_id

    async def edit(self, decision_id: UUID, fields: DecisionFields) -> tuple[str, ...]:
        """Replace the details of a decision not yet decided: one entry naming each field
        changed, before and after (models.details_changed); the names of those changed. Nothing
        changed writes nothing (a form sent twice, a retried request). Moving it to another
        organisation needs the account to write for that one too."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                row = await self._locked(conn, decision_id)
                if not organisation(fields.organisation_id).met_by(self.account):
                    raise Refused(403, "not one of your organisations", "organisation_id")
                before = await store.details(conn, decision_id)
                assert before is not None  # locked a moment ago; decisions are never deleted
                await _editable(conn, decision_id, Stage(row["stage"]), before, fields)
                changed = details_changed(before, fields)
                if changed:
                    await store.edit(conn, decision_id, fields, members="members" in changed)
                    step = Step(decision_id, Kind.DETAILS_EDITED, {"changed": changed})
                    await self._record(conn, row, step, "details_edited")
        except asyncpg.ForeignKeyViolationError as exc:
            raise _foreign_key(exc) from exc
        return tuple(changed)

    async def move_on(self, decision_id: UUID, to: Stage) -> None:
        """Move to the next stage by hand (never to decided: that is recording the outcome)."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, decision_id)
            if next_stage(Stage(row["stage"])) is not to:
                raise Refused(409, f"a decision at {row['stage']} cannot move to {to.value}", "stage")
            await store.set_stage(conn, decision_id, to)
            step = Step(decision_id, Kind.STAGE_CHANGED, {"from": row["stage"], "to": to.value})
            await self._record(conn, row, step, "stage_changed")

    async def link(self, decision_id: UUID, link: ConsultationLink) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, decision_id)
            if not consults(Stage(row["stage"])):
                raise Refused(409, "consultations are linked before deliberation begins", "target_id")
            if row["method"] == Method.RESIDENT_BALLOT and link.kind is ConsultationKind.MEETING:
                raise Refused(422, "a resident ballot consults through its survey", "kind")
            if not await store.link(conn, decision_id, link.kind, link.target_id):
                raise Refused(409, "linked already", "target_id")
            payload = {"kind": link.kind.value, "target_id": str(link.target_id)}
            await self._record(
                conn, row, Step(decision_id, Kind.CONSULTATION_LINKED, payload), "consultation_linked"
            )

    async def close(self, decision_id: UUID, link: ConsultationLink, closing: Closing) -> None:
        """Count the consultation's participation now and keep what was heard; the ledger
        entry holds the counts only, never who took part."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, decision_id)
            step = await close_consultation(conn, decision_id, link, closing)
            await self._record(conn, row, step, "participation_counted")

    async def assess(self, decision_id: UUID, assessment: Assessment) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, decision_id)
            if Stage(row["stage"]) not in (Stage.PROPOSED, Stage.CONSULTATION, Stage.DELIBERATION):
                raise Refused(409, "the assessment is written before the outcome is recorded")
            await store.write_assessment(conn, decision_id, assessment)
            step = Step(decision_id, Kind.ASSESSMENT_WRITTEN, assessment.model_dump(mode="json"))
            await self._record(conn, row, step, "assessment_written")

    async def record(self, decision_id: UUID, recording: Recording) -> None:
        """The outcome: each member's vote, then the outcome, each an entry, and the events. A
        resident ballot's outcome is computed from its survey's tally; a competition's approval
        designates its ranking's top places, and each applicant is told theirs."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, decision_id)
            consultations = await store.consultations(conn, decision_id)
            members = await store.votes(conn, decision_id)
            refusal = recording_refusal(
                Method(row["method"]),
                Stage(row["stage"]),
                len(members),
                await store.assessment(conn, decision_id) is not None,
                {
                    (ConsultationKind(c["kind"]), c["target_id"]): c["closed_at"] is not None
                    for c in consultations
                },
                recording,
            )
            if refusal is not None:
                raise Refused(422 if refusal in _UNREADABLE else 409, refusal.value)
            extra: dict[str, Any] = {}
            if recording.ballot is not None:
                recording, extra["ballot"] = await _ballot(conn, consultations[0]["target_id"], recording)
                await store.keep_ballot(conn, decision_id, extra["ballot"])
            assert recording.outcome is not None  # typed, or computed from the ballot
            places = await competition_store.competition(conn, decision_id)
            ranked: list[Ranked] = []
            if places is not None:
                if recording.outcome is Outcome.AMENDED:
                    raise Refused(409, Refusal.COMPETITION_AMENDED.value, "outcome")
                approved = recording.outcome is Outcome.APPROVED
                ranked = await _ranked(conn, decision_id, places["places"], recording, approved)
                await competition_store.designate(conn, ranked, approved)
                extra["ranking"] = [ranking_payload(r, approved) for r in ranked]
                if recording.tie_break:
                    extra["tie_break"] = sorted(str(application) for application in recording.tie_break)
            elif recording.tie_break:
                raise Refused(
                    422, "only a competition's tie at the last designated place is broken", "tie_break"
                )
            await store.record(conn, decision_id, recording)
            by_position = {member["position"]: member for member in members}
            for vote in sorted(recording.votes, key=lambda v: v.member):
                member = by_position[vote.member]
                payload = vote_payload(vote, member["name"], member["seat"])
                await self._record(conn, row, Step(decision_id, Kind.VOTE_RECORDED, payload), "vote_recorded")
            outcome = {**outcome_payload(recording), **extra}
            await self._record(
                conn, row, Step(decision_id, Kind.OUTCOME_RECORDED, outcome), "outcome_recorded"
            )
            page_path = f"/decisions/{decision_id}"
            told: list[Event] = [
                DecisionRecorded(
                    decision_id=decision_id,
                    organisation_id=row["organisation_id"],
                    title=row["title"],
                    outcome=recording.outcome.value,
                    survey_ids=tuple(c["target_id"] for c in consultations if c["kind"] == "survey"),
                    meeting_ids=tuple(c["target_id"] for c in consultations if c["kind"] == "meeting"),
                    page_path=page_path,
                    rationale=recording.rationale,
                    input_used=tuple(
                        InputUsed(kind=u.kind.value, target_id=u.target_id, how_used=u.how_used)
                        for u in recording.input_used
                    ),
                )
            ]
            if ranked:
                contacts = {
                    a["id"]: a["contact_person_id"]
                    for a in await competition_store.applications(conn, decision_id)
                }
                told += [
                    ApplicationDecided(
                        decision_id=decision_id,
                        organisation_id=row["organisation_id"],
                        application_id=r.application_id,
                        title=row["title"],
                        community=r.community,
                        designated=r.designated and recording.outcome is Outcome.APPROVED,
                        rank=r.rank,
                        places=places["places"] if places else 1,
                        applicants=len(ranked),
                        contact_person_id=contacts[r.application_id],
                        page_path=page_path,
                    )
                    for r in ranked
                ]
            await emit(
                conn,
                told,
                producer=PRODUCER,
                correlation_id=self.request_id,
                actor=f"account:{self.account.id}",
                aggregate=f"decision:{decision_id}",
            )

    async def correct(self, decision_id: UUID, correction: Correction) -> None:
        """A correction: a new entry naming the one it corrects (of this decision), who and why;
        the entry corrected stays as it was."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, decision_id)
            kind = await ledger_store.kind_of(conn, decision_id, correction.corrects)
            if kind is None:
                raise Refused(422, "not an entry of this decision", "corrects")
            payload = {"corrected_kind": kind, "why": correction.why, "correction": correction.correction}
            step = Step(decision_id, Kind.CORRECTION, payload, corrects=correction.corrects)
            await self._record(conn, row, step, "corrected")


async def _editable(
    conn: DbConnection, decision_id: UUID, stage: Stage, before: DecisionFields, after: DecisionFields
) -> None:
    """Refused (409) when the details cannot change so now (models.edit_refusal)."""
    competition = await competition_store.competition(conn, decision_id) is not None
    consultations = await store.consultations(conn, decision_id)
    refusal = edit_refusal(
        stage,
        before,
        after,
        competition=competition,
        reviewed=competition and await competition_store.reviewed(conn, decision_id),
        meetings=any(c["kind"] == ConsultationKind.MEETING for c in consultations),
    )
    if refusal is not None:
        field, why = refusal
        raise Refused(409, why.value, field)


# Refusals about what the body says, not about the decision's state.
_UNREADABLE = frozenset(
    {Refusal.OUTCOME_MISSING, Refusal.BALLOT_TYPED_IN, Refusal.BALLOT_CHOICE_MISSING, Refusal.NOT_A_BALLOT}
)


async def _ballot(
    conn: DbConnection, survey_id: UUID, recording: Recording
) -> tuple[Recording, dict[str, Any]]:
    """The recording with the outcome its survey's tally carries, and how it was computed."""
    assert recording.ballot is not None
    tally = await store.tally(conn, survey_id)
    if tally is None:
        raise Refused(409, Refusal.BALLOT_NOT_CLOSED.value)
    try:
        outcome, computed = ballot_result(tally, recording.ballot)
    except BallotRefused as exc:
        raise Refused(409 if exc.field == "ballot" else 422, exc.detail, exc.field) from exc
    return recording.model_copy(update={"outcome": outcome}), computed


async def _ranked(
    conn: DbConnection, decision_id: UUID, places: int, recording: Recording, approved: bool
) -> list[Ranked]:
    """The competition's ranking as the outcome designates it: a tie across the last place
    broken by the panel's vote (``tie_break``) when approving, never by a rule."""
    try:
        return await designations.ranked(
            conn, decision_id, places, tie_break=recording.tie_break, designating=approved
        )
    except TieBreakRefused as exc:
        raise Refused(422, str(exc), "tie_break") from exc
    except TiedAtCut as exc:
        raise Refused(409, str(exc), "tie_break") from exc
    except NotRankable as exc:
        raise Refused(409, f"the ranking is not complete: {exc}") from exc


def ranking_payload(ranked: Ranked, approved: bool) -> dict[str, Any]:
    return {
        "application_id": str(ranked.application_id),
        "community": ranked.community,
        "rank": ranked.rank,
        "score_hundredths": ranked.hundredths,
        "reviewers": ranked.reviewers,
        "designated": ranked.designated and approved,
        "tied_at_cut": ranked.tied_at_cut,
    }


async def close_consultation(
    conn: DbConnection, decision_id: UUID, link: ConsultationLink, closing: Closing
) -> Step:
    """Count the consultation's participation now (responses; a meeting's attendance and
    registrations) and keep what was heard; the entry to record, with the counts only."""
    found = await store.lock_consultation(conn, decision_id, link.kind, link.target_id)
    if found is None:
        raise Refused(404, "not a consultation of this decision", "target_id")
    if found["closed_at"] is not None:
        raise Refused(409, "closed already", "target_id")
    counted = await store.participation(conn, link.kind, link.target_id)
    await store.close(conn, decision_id, link.kind, link.target_id, closing.what_we_heard, counted)
    participants, registered = counted
    payload: dict[str, Any] = {
        "kind": link.kind.value,
        "target_id": str(link.target_id),
        "participants": participants,
        "what_we_heard": closing.what_we_heard,
    }
    if registered is not None:
        payload["registered"] = registered
    return Step(decision_id, Kind.PARTICIPATION_COUNTED, payload)


def created_payload(fields: DecisionFields) -> dict[str, Any]:
    """What the created entry holds: the decision as proposed."""
    return fields.model_dump(mode="json")


def vote_payload(vote: MemberVote, name: str, seat: str) -> dict[str, Any]:
    """A vote's entry: the member by position, name and seat as the body lists them."""
    return {"member": vote.member, "name": name, "seat": seat, "vote": vote.vote.value, "reason": vote.reason}


def outcome_payload(recording: Recording) -> dict[str, Any]:
    assert recording.outcome is not None  # typed, or computed from the ballot
    return {
        "outcome": recording.outcome.value,
        "rationale": recording.rationale,
        "input_used": [use.model_dump(mode="json") for use in recording.input_used],
    }
