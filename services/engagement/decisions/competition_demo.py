"""The demo's designation competition, after the Investing in Manufacturing Communities
Partnership: 72 demo communities apply, a review panel of three named demo reviewers scores each
on three weighted criteria (one reviewer declares a conflict of interest with one application
and never scores it), and the panel's vote designates the ranking's top 12. Every step through
the competition's own rules (competition_changes.py) and in the ledger, as the operator. No
application.decided is emitted: the demo's applicants have no contact to tell. Loaded once (a
fixed id). The scores are drawn from a fixed seed, so each load is the same."""

import random
from uuid import UUID

from services.engagement.decisions import competition_changes, designations, ledger_store, store
from services.engagement.decisions.changes import outcome_payload, ranking_payload, vote_payload
from services.engagement.decisions.competition import (
    ApplicationFields,
    CompetitionFields,
    Conflict,
    Criterion,
    CriterionScore,
    ScoreSheet,
)
from services.engagement.decisions.competition_store import designate
from services.engagement.decisions.demo import DEMO_LOADER, _entry, _move
from services.engagement.decisions.ledger import Kind, Step
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
    Vote,
)
from shared.db import DbConnection

PANEL = (
    Member(name="Demo: Reviewer Amara Osei", seat="Chair"),
    Member(name="Demo: Reviewer Jonah Weiss", seat="Economic development"),
    Member(name="Demo: Reviewer Lucía Romero", seat="Workforce"),
)
CRITERIA = (
    Criterion(name="Strength of the economic development plan", weight=3),
    Criterion(name="Partnerships across public and private sectors", weight=2),
    Criterion(name="Benefits for under-served workers", description="Who gets the jobs", weight=2),
)
_SIDES = ("North", "South", "East", "West", "Upper", "Lower")
_PLACES = (
    "River Valley", "Lakeshore", "Prairie", "Coast", "Foothills", "Delta",
    "Highlands", "Tri-County", "Harbor", "Plains", "Piedmont", "Basin",
)  # fmt: skip
COMMUNITIES = tuple(f"Demo: {side} {place}" for place in _PLACES for side in _SIDES)  # 72
PLACES = 12
CONFLICTED = (3, 5)  # the third reviewer, the sixth application (0-based 5): she advised it
ASSESSMENT = Assessment(
    who_pays="Federal agencies' existing programmes, channelled to the designated communities.",
    who_benefits="The 12 designated communities' manufacturers and their workers.",
    who_decides="A review panel of three, by majority, on the ranking of weighted scores.",
    groups=(
        AffectedGroup(
            group="Communities not designated",
            benefits="Reviewers' scores to improve the next application",
            burdens="No designation this round",
        ),
    ),
    mitigations="A second round later in the year; every applicant sees its scores by reviewer.",
)


async def load(conn: DbConnection, decision_id: UUID, organisation_id: UUID, region_id: UUID) -> int:
    """1 when the competition was new."""
    fields = DecisionFields(
        organisation_id=organisation_id,
        region_id=region_id,
        title="Demo: Designate 12 manufacturing communities",
        description="A competition for designation as a manufacturing community: more than 70 applied.",
        document_links=("https://example.org/demo/designation-call.pdf",),
        body=Body.REVIEW_PANEL,
        method=Method.MAJORITY,
        members=PANEL,
    )
    rng = random.Random("demo designation")
    async with conn.transaction():
        if not await store.insert(conn, decision_id, fields, is_demo=True):
            return 0
        await _entry(conn, decision_id, Kind.CREATED, fields.model_dump(mode="json"))

        async def step(make: Step) -> None:
            await ledger_store.append(conn, make, DEMO_LOADER)

        decision = await store.lock(conn, decision_id)
        assert decision is not None  # inserted a moment ago
        competition = CompetitionFields(places=PLACES, criteria=CRITERIA)
        await step(await competition_changes.set_competition(conn, decision_id, decision, competition))
        applications: list[UUID] = []
        for community in COMMUNITIES:
            application = ApplicationFields(
                community=community,
                lead=f"{community} regional partnership",
                summary="A strategy to attract manufacturers and their supply chains.",
                document_links=(f"https://example.org/demo/{len(applications) + 1}.pdf",),
            )
            application_id, made = await competition_changes.receive(conn, decision_id, decision, application)
            applications.append(application_id)
            await step(made)
        await _move(conn, decision_id, Stage.PROPOSED, Stage.CONSULTATION)
        decision = await store.lock(conn, decision_id)
        assert decision is not None
        reviewer, index = CONFLICTED
        conflict = Conflict(reviewer=reviewer, reason="Advised this community's application")
        await step(
            await competition_changes.declare(conn, decision_id, decision, applications[index], conflict)
        )
        for n, application_id in enumerate(applications):
            for position in range(1, len(PANEL) + 1):
                if (position, n) == CONFLICTED:
                    continue
                scores = tuple(
                    CriterionScore(criterion=c, score=rng.randint(3, 10)) for c in range(1, len(CRITERIA) + 1)
                )
                sheet = ScoreSheet(reviewer=position, scores=scores)
                scored = await competition_changes.score(conn, decision_id, decision, application_id, sheet)
                assert scored is not None  # each reviewer's first sheet
                await step(scored)
        await _move(conn, decision_id, Stage.CONSULTATION, Stage.DELIBERATION)
        await store.write_assessment(conn, decision_id, ASSESSMENT)
        await _entry(conn, decision_id, Kind.ASSESSMENT_WRITTEN, ASSESSMENT.model_dump(mode="json"))
        ranked = await designations.ranked(conn, decision_id, PLACES)
        await designate(conn, ranked, True)
        recording = Recording(
            outcome=Outcome.APPROVED,
            votes=(
                MemberVote(member=1, vote=Vote.FOR),
                MemberVote(member=2, vote=Vote.FOR),
                MemberVote(member=3, vote=Vote.ABSTAIN),
            ),
            rationale="The 12 highest weighted scores are designated, as the call said.",
        )
        await store.record(conn, decision_id, recording)
        for vote, member in zip(recording.votes, PANEL, strict=True):
            await _entry(conn, decision_id, Kind.VOTE_RECORDED, vote_payload(vote, member.name, member.seat))
        outcome = {**outcome_payload(recording), "ranking": [ranking_payload(r, True) for r in ranked]}
        await _entry(conn, decision_id, Kind.OUTCOME_RECORDED, outcome)
    return 1
