"""A competition as the public sees it: its places and weighted criteria, each application with
its documents, every reviewer's weighted score of it by name (or the conflict they declared),
its weighted score so far and, once decided, its rank and whether it was designated; and a tie
across the last designated place, said plainly: the panel's vote breaks it, no rule does."""

from uuid import UUID

from pydantic import BaseModel

from services.engagement.community.store import Db
from services.engagement.decisions import competition_store, designations, store
from services.engagement.decisions.competition import hundredths, tie_at_cut, weighted_score


class CriterionView(BaseModel):
    position: int
    name: str
    description: str
    weight: int


class ReviewView(BaseModel):
    reviewer: int
    name: str
    score_hundredths: int | None  # None: not scored (yet, or never: conflict)
    scores: dict[int, int]  # criterion position -> score
    conflict: str | None  # the reason declared


class ApplicationView(BaseModel):
    id: UUID
    community: str
    lead: str
    summary: str
    document_links: list[str]
    reviews: list[ReviewView]
    score_hundredths: int | None  # the weighted score over the reviews given so far
    rank: int | None
    designated: bool | None
    tied_at_cut: bool  # its weighted score ties across the last designated place


class TieView(BaseModel):
    """Applications whose weighted scores tie across the last designated place (on the scores
    given so far, until the outcome is recorded), and how many places are left to them: which
    of them are designated is the panel's vote (Recording.tie_break), never the ranking's."""

    applications: list[UUID]
    communities: list[str]
    places_left: int


class CompetitionView(BaseModel):
    places: int
    criteria: list[CriterionView]
    applications: list[ApplicationView]
    reviewers: list[str]
    designated: int
    tie: TieView | None


async def competition_of(conn: Db, decision_id: UUID) -> CompetitionView | None:
    found = await competition_store.competition(conn, decision_id)
    if found is None:
        return None
    criteria = [
        CriterionView.model_validate(dict(row)) for row in await competition_store.criteria(conn, decision_id)
    ]
    weights = [criterion.weight for criterion in criteria]
    members = await store.votes(conn, decision_id)
    sheets = await designations.sheets_of(conn, decision_id)
    conflicts = {
        (row["application_id"], row["reviewer"]): row["reason"]
        for row in await competition_store.conflicts(conn, decision_id)
    }
    rows = await competition_store.applications(conn, decision_id)
    scores = {
        row["id"]: weighted_score(weights, list(sheets[row["id"]].values()))
        for row in rows
        if row["id"] in sheets
    }
    communities = {row["id"]: row["community"] for row in rows}
    best_first = sorted(scores, key=lambda a: (-scores[a], communities[a], a))
    tie = tie_at_cut([(scores[a], a) for a in best_first], found["places"])
    tied = tie.applications if tie else ()
    applications = []
    for row in rows:
        given = sheets.get(row["id"], {})
        reviews = [
            ReviewView(
                reviewer=member["position"],
                name=member["name"],
                score_hundredths=(
                    hundredths(weighted_score(weights, [given[member["position"]]]))
                    if member["position"] in given
                    else None
                ),
                scores=dict(given.get(member["position"], {})),
                conflict=conflicts.get((row["id"], member["position"])),
            )
            for member in members
        ]
        applications.append(
            ApplicationView(
                id=row["id"],
                community=row["community"],
                lead=row["lead"],
                summary=row["summary"],
                document_links=list(row["document_links"]),
                reviews=reviews,
                score_hundredths=hundredths(scores[row["id"]]) if given else None,
                rank=row["rank"],
                designated=row["designated"],
                tied_at_cut=row["id"] in tied,
            )
        )
    return CompetitionView(
        places=found["places"],
        criteria=criteria,
        applications=applications,
        reviewers=[member["name"] for member in members],
        designated=sum(1 for application in applications if application.designated),
        tie=None
        if tie is None
        else TieView(
            applications=list(tie.applications),
            communities=[communities[a] for a in tie.applications],
            places_left=tie.places_left,
        ),
    )
