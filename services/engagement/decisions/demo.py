"""The demo's rezoning decision: the Northside industrial site in Portland, proposed by the
urban manufacturing alliance, assessed, and approved by a council of named demo members voting
by name; every step in the ledger, written by the operator (the demo loader), so a fresh
``make run`` shows a decision page whose ledger verifies. Loaded once (a fixed id): loading
again adds nothing to the ledger."""

import uuid
from typing import Any
from uuid import UUID

from services.engagement.decisions import ledger_store, store
from services.engagement.decisions.changes import created_payload, outcome_payload, vote_payload
from services.engagement.decisions.ledger import Author, Kind, Step
from services.engagement.decisions.models import (
    AffectedGroup,
    Assessment,
    Body,
    DecisionFields,
    Member,
    MemberVote,
    Method,
    Outcome,
    Recording,
    Stage,
)
from shared.db import DbConnection

DEMO_LOADER = Author(None, "Demo loader", "operator")
COUNCIL = (
    Member(name="Demo: Councillor Ana Morales", seat="District 1"),
    Member(name="Demo: Councillor Ben Okafor", seat="District 2"),
    Member(name="Demo: Councillor Carmen Liu", seat="District 3"),
    Member(name="Demo: Councillor Dev Patel", seat="District 4"),
    Member(name="Demo: Mayor Elena Ruiz", seat="Mayor"),
)
ASSESSMENT = Assessment(
    who_pays="The city's general fund for new streets and utilities; the developer for the park and "
    "the affordable homes.",
    who_benefits="Renters and first-time buyers in Northside (400 homes, 80 affordable); small makers "
    "keeping 30 % of the site as light-industrial space.",
    who_decides="The city council by majority, after a resident survey and a public hearing.",
    groups=(
        AffectedGroup(
            group="Renters in Northside", benefits="80 affordable homes", burdens="Two years of works"
        ),
        AffectedGroup(
            group="Small manufacturers", benefits="Light-industrial space kept", burdens="Rents may rise"
        ),
        AffectedGroup(
            group="Spanish-speaking households", benefits="Homes near work", burdens="Less heard so far"
        ),
    ),
    mitigations="Construction hours 8-17; rents of the light-industrial space capped for ten years; "
    "outreach in Spanish before the next stage.",
    narrative="The site has stood idle for a decade. Rezoning it to mixed use keeps a share of making "
    "things in the neighbourhood while adding homes; the survey asked for a park, which was added.",
)


async def load(conn: DbConnection, decision_id: UUID, organisation_id: UUID, region_id: UUID) -> int:
    """1 when the decision was new."""
    fields = DecisionFields(
        organisation_id=organisation_id,
        region_id=region_id,
        title="Demo: Rezone the Northside industrial site",
        site="Northside industrial site, Portland",
        description="From heavy industry to mixed use: 400 homes (80 affordable), a park, and 30 % of the "
        "site kept for light manufacturing.",
        document_links=("https://example.org/demo/northside-staff-report.pdf",),
        body=Body.CITY_COUNCIL,
        method=Method.MAJORITY,
        members=COUNCIL,
    )
    votes = ("for", "for", "against", "recused", "for")
    recording = Recording(
        outcome=Outcome.AMENDED,
        votes=tuple(
            MemberVote(member=n, vote=vote, reason="Owns a business on the site" if vote == "recused" else "")
            for n, vote in enumerate(votes, start=1)
        ),
        rationale="Homes are needed and the site is idle; amended to keep 30 % for light manufacturing "
        "and to cap its rents, as small makers asked.",
    )
    async with conn.transaction():
        if not await store.insert(conn, decision_id, fields, is_demo=True):
            return 0
        await _entry(conn, decision_id, Kind.CREATED, created_payload(fields))
        for before, after in ((Stage.PROPOSED, Stage.CONSULTATION), (Stage.CONSULTATION, Stage.DELIBERATION)):
            await store.set_stage(conn, decision_id, after)
            await _entry(conn, decision_id, Kind.STAGE_CHANGED, {"from": before.value, "to": after.value})
        await store.write_assessment(conn, decision_id, ASSESSMENT)
        await _entry(conn, decision_id, Kind.ASSESSMENT_WRITTEN, ASSESSMENT.model_dump(mode="json"))
        await store.record(conn, decision_id, recording)
        for vote, member in zip(recording.votes, COUNCIL, strict=True):
            await _entry(conn, decision_id, Kind.VOTE_RECORDED, vote_payload(vote, member.name, member.seat))
        await _entry(conn, decision_id, Kind.OUTCOME_RECORDED, outcome_payload(recording))
    return 1


async def _entry(conn: DbConnection, decision_id: UUID, kind: Kind, payload: dict[str, Any]) -> None:
    await ledger_store.append(conn, Step(decision_id, kind, payload), DEMO_LOADER)


DEMO_DECISION_NAME = "decision:Northside rezoning"


def demo_id(namespace: UUID) -> UUID:
    return uuid.uuid5(namespace, DEMO_DECISION_NAME)
