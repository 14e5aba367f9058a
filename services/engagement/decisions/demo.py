"""The demo's rezoning decision: the Northside industrial site in Portland, proposed by the
urban manufacturing alliance, consulted on through the demo's Northside survey (surveys' demo,
its id fixed by shared/demo_ids.py) and the Land Use CoP's hearing, assessed, and amended by a
council of named demo members voting by name; every step in the ledger, written by the operator
(the demo loader), so a fresh ``make run`` shows a decision page whose ledger verifies.

In two steps, because the survey's responses reach engagement only once the platform runs:
``load`` (when the database is prepared) proposes it, links its consultations and writes the
assessment; ``finish`` (after surveys' demo has loaded its responses, deploy/survey_demo.py)
counts the participation, and records the votes and the outcome. Each once (a fixed id)."""

import uuid
from typing import Any
from uuid import UUID

from services.engagement.decisions import ledger_store, store
from services.engagement.decisions.changes import (
    close_consultation,
    created_payload,
    outcome_payload,
    vote_payload,
)
from services.engagement.decisions.ledger import Author, Kind, Step
from services.engagement.decisions.models import (
    AffectedGroup,
    Assessment,
    Body,
    Closing,
    ConsultationKind,
    ConsultationLink,
    DecisionFields,
    InputUse,
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


FIELDS = dict(
    title="Demo: Rezone the Northside industrial site",
    site="Northside industrial site, Portland",
    description="From heavy industry to mixed use: 400 homes (80 affordable), a park, and 30 % of the "
    "site kept for light manufacturing.",
    document_links=("https://example.org/demo/northside-staff-report.pdf",),
    body=Body.CITY_COUNCIL,
    method=Method.MAJORITY,
    members=COUNCIL,
)
HEARD = {
    ConsultationKind.SURVEY: (
        "Residents asked for a park and for rents small makers can afford.",
        "The park was added; the light-industrial rents were capped for ten years.",
    ),
    ConsultationKind.MEETING: (
        "The hearing was cancelled: nobody was heard there.",
        "Not used: the hearing did not take place; outreach in Spanish comes before the next stage.",
    ),
}


async def load(
    conn: DbConnection,
    decision_id: UUID,
    organisation_id: UUID,
    region_id: UUID,
    consultations: tuple[tuple[ConsultationKind, UUID], ...],
) -> int:
    """The decision proposed, its consultations (the Northside survey, the hearing) linked and
    open, and its assessment written; 1 when it was new. ``finish`` closes and decides it once
    the survey's responses have reached engagement."""
    fields = DecisionFields(organisation_id=organisation_id, region_id=region_id, **FIELDS)
    async with conn.transaction():
        if not await store.insert(conn, decision_id, fields, is_demo=True):
            return 0
        await _entry(conn, decision_id, Kind.CREATED, created_payload(fields))
        for kind, target_id in consultations:
            await store.link(conn, decision_id, kind, target_id)
            payload = {"kind": kind.value, "target_id": str(target_id)}
            await _entry(conn, decision_id, Kind.CONSULTATION_LINKED, payload)
        await _move(conn, decision_id, Stage.PROPOSED, Stage.CONSULTATION)
        await store.write_assessment(conn, decision_id, ASSESSMENT)
        await _entry(conn, decision_id, Kind.ASSESSMENT_WRITTEN, ASSESSMENT.model_dump(mode="json"))
    return 1


async def finish(conn: DbConnection, decision_id: UUID) -> int:
    """Close the consultations (counting their participation as it stands), move to
    deliberation and record the council's votes by name; 1 when it was done now, 0 when it was
    done before."""
    votes = ("for", "for", "against", "recused", "for")
    async with conn.transaction():
        row = await store.lock(conn, decision_id)
        if row is None or row["stage"] != Stage.CONSULTATION:
            return 0
        consultations = await store.consultations(conn, decision_id)
        for c in consultations:
            kind = ConsultationKind(c["kind"])
            link = ConsultationLink(kind=kind, target_id=c["target_id"])
            step = await close_consultation(conn, decision_id, link, Closing(what_we_heard=HEARD[kind][0]))
            await ledger_store.append(conn, step, DEMO_LOADER)
        await _move(conn, decision_id, Stage.CONSULTATION, Stage.DELIBERATION)
        recording = Recording(
            outcome=Outcome.AMENDED,
            votes=tuple(
                MemberVote(
                    member=n, vote=vote, reason="Owns a business on the site" if vote == "recused" else ""
                )
                for n, vote in enumerate(votes, start=1)
            ),
            rationale="Homes are needed and the site is idle; amended to keep 30 % for light manufacturing "
            "and to cap its rents, as small makers asked.",
            input_used=tuple(
                InputUse(
                    kind=c["kind"], target_id=c["target_id"], how_used=HEARD[ConsultationKind(c["kind"])][1]
                )
                for c in consultations
            ),
        )
        await store.record(conn, decision_id, recording)
        for vote, member in zip(recording.votes, COUNCIL, strict=True):
            await _entry(conn, decision_id, Kind.VOTE_RECORDED, vote_payload(vote, member.name, member.seat))
        await _entry(conn, decision_id, Kind.OUTCOME_RECORDED, outcome_payload(recording))
    return 1


async def _move(conn: DbConnection, decision_id: UUID, before: Stage, after: Stage) -> None:
    await store.set_stage(conn, decision_id, after)
    await _entry(conn, decision_id, Kind.STAGE_CHANGED, {"from": before.value, "to": after.value})


async def _entry(conn: DbConnection, decision_id: UUID, kind: Kind, payload: dict[str, Any]) -> None:
    await ledger_store.append(conn, Step(decision_id, kind, payload), DEMO_LOADER)


DEMO_DECISION_NAME = "decision:Northside rezoning"


def demo_id(namespace: UUID) -> UUID:
    return uuid.uuid5(namespace, DEMO_DECISION_NAME)
