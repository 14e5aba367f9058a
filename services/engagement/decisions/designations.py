"""A competition's ranking read from its stored scores (competition.py holds the rule): used
when the outcome is recorded, and by the public page for the standings so far."""

from collections import defaultdict
from collections.abc import Collection
from uuid import UUID

from services.engagement.community.store import Db
from services.engagement.decisions import competition_store, store
from services.engagement.decisions.competition import Ranked, ranking

Sheets = dict[UUID, dict[int, dict[int, int]]]


async def sheets_of(conn: Db, decision_id: UUID) -> Sheets:
    """application -> reviewer -> criterion -> score."""
    found: Sheets = defaultdict(lambda: defaultdict(dict))
    for row in await competition_store.scores(conn, decision_id):
        found[row["application_id"]][row["reviewer"]][row["criterion"]] = row["score"]
    return found


async def ranked(
    conn: Db,
    decision_id: UUID,
    places: int,
    *,
    tie_break: Collection[UUID] = (),
    designating: bool = True,
) -> list[Ranked]:
    """Every application ranked (competition.ranking: what ``tie_break`` and ``designating``
    are); NotRankable when a score is missing or, designating, a tie spans the cut unbroken."""
    weights = [row["weight"] for row in await competition_store.criteria(conn, decision_id)]
    reviewers = len(await store.votes(conn, decision_id))
    applications = [
        (row["id"], row["community"]) for row in await competition_store.applications(conn, decision_id)
    ]
    conflicted: dict[UUID, int] = defaultdict(int)
    for row in await competition_store.conflicts(conn, decision_id):
        conflicted[row["application_id"]] += 1
    expected = {application_id: reviewers - conflicted[application_id] for application_id, _ in applications}
    sheets = await sheets_of(conn, decision_id)
    return ranking(
        weights, applications, sheets, expected, places, tie_break=tie_break, designating=designating
    )
