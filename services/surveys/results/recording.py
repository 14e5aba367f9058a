"""Keeping a survey's tallies current: the increments of a batch of responses, summed, written in
three statements inside the transaction that stores the responses.

Cross-tabs count each response's cells again per answer to a demographics question (``by`` the
question id, ``by_bucket`` each band chosen, or ``@skipped`` when shown and not answered) and per
region (``by`` = ``region``, ``by_bucket`` the region's id or ``@unknown``). A question is not
crossed with itself. Summing in Python first means one row lock per cell per batch, however many
responses of the batch share the cell: under load most batches of a survey share most cells.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from services.surveys.building.definition import SurveyDocument, visible_questions
from services.surveys.results.tallies import SKIPPED, Cell, increments
from shared.db import DbConnection
from shared.demographics import Dimension

REGION = "region"
UNKNOWN = "@unknown"
Key = TypeVar("Key", bound=tuple[object, ...])
CROSSED_BY = frozenset(dimension.value for dimension in Dimension)


@dataclass(frozen=True)
class Counted:
    """One response as the tallies count it: valid ``answers`` to ``document`` (its version's)."""

    survey_id: UUID
    version: int
    document: SurveyDocument
    answers: Mapping[str, object]
    region_id: UUID | None


def crossings(
    document: SurveyDocument, answers: Mapping[str, object], region_id: UUID | None
) -> list[tuple[str, str]]:
    """The (by, by_bucket) a response's cells are cross-counted under."""
    found: list[tuple[str, str]] = [(REGION, str(region_id) if region_id else UNKNOWN)]
    for question in visible_questions(document, answers):
        if question.id not in CROSSED_BY:
            continue
        answer = answers.get(question.id)
        if not isinstance(answer, Mapping):
            found.append((question.id, SKIPPED))
            continue
        choice = answer.get("choice")
        chosen = [choice] if isinstance(choice, str) else list(answer.get("choices") or [])
        found.extend((question.id, band) for band in chosen)
    return found


async def record(conn: DbConnection, responses: Sequence[Counted]) -> None:
    """Add ``responses`` to their surveys' totals, tallies and cross-tabs."""
    if not responses:
        return
    totals: Counter[tuple[UUID, int]] = Counter()
    tallies: Counter[tuple[UUID, int, str, str]] = Counter()
    crossed: Counter[tuple[UUID, int, str, str, str, str]] = Counter()
    for response in responses:
        key = (response.survey_id, response.version)
        totals[key] += 1
        cells: Counter[Cell] = increments(response.document, response.answers)
        for cell, n in cells.items():
            tallies[(*key, cell.question, cell.bucket)] += n
        for by, by_bucket in crossings(response.document, response.answers, response.region_id):
            for cell, n in cells.items():
                if cell.question != by:
                    crossed[(*key, by, by_bucket, cell.question, cell.bucket)] += n
    await conn.execute(
        """INSERT INTO survey_totals (survey_id, version, responses)
           SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[])
           ON CONFLICT (survey_id, version)
           DO UPDATE SET responses = survey_totals.responses + excluded.responses""",
        *_columns(totals),
    )
    await conn.execute(
        """INSERT INTO tallies (survey_id, version, question, bucket, responses)
           SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::int[])
           ON CONFLICT (survey_id, version, question, bucket)
           DO UPDATE SET responses = tallies.responses + excluded.responses""",
        *_columns(tallies),
    )
    if crossed:
        await conn.execute(
            """INSERT INTO crosstab_tallies (survey_id, version, "by", by_bucket, question, bucket, responses)
               SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[],
                                    $6::text[], $7::int[])
               ON CONFLICT (survey_id, version, "by", question, bucket, by_bucket)
               DO UPDATE SET responses = crosstab_tallies.responses + excluded.responses""",
            *_columns(crossed),
        )


def _columns(counts: Mapping[Key, int]) -> list[list[object]]:
    """The keys and counts as one list per column, in a fixed order of rows (sorted), so that two
    batches lock shared cells in the same order and cannot deadlock."""
    rows = sorted(counts.items(), key=lambda item: tuple(str(part) for part in item[0]))
    return [list(column) for column in zip(*((*key, n) for key, n in rows), strict=True)]
