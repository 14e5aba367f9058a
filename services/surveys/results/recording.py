"""Keeping a survey's tallies current: the increments of a batch of responses, summed, written in
one statement inside the transaction that stores the responses.

Cross-tabs count each response's cells again per answer to a demographics question (``by`` the
question id, ``by_bucket`` each band chosen, or ``@skipped`` when shown and not answered) and per
region (``by`` = ``region``, ``by_bucket`` the region's id or ``@unknown``). A question is not
crossed with itself. Summing in Python first means one row lock per cell per batch, however many
responses of the batch share the cell: under load most batches of a survey share most cells.
"""

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from services.surveys.building.definition import SurveyDocument, visible_questions
from services.surveys.results.tallies import SKIPPED, increments
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
    """Add ``responses`` to their surveys' totals, tallies and cross-tabs, in one statement."""
    if not responses:
        return
    versions: dict[tuple[UUID, int], int] = {}  # each (survey, version) of the batch: its number
    totals: Counter[tuple[int]] = Counter()
    tallies: Counter[tuple[int, str, str]] = Counter()
    crossed: Counter[tuple[int, str, str, str, str]] = Counter()  # the primary key's order
    for response in responses:
        n_version = versions.setdefault((response.survey_id, response.version), len(versions) + 1)
        totals[(n_version,)] += 1
        cells = increments(response.document, response.answers)
        for cell, n in cells.items():
            tallies[(n_version, cell.question, cell.bucket)] += n
        for by, by_bucket in crossings(response.document, response.answers, response.region_id):
            for (question, bucket), n in cells.items():
                if question != by:
                    crossed[(n_version, by, question, bucket, by_bucket)] += n
    await conn.execute(
        RECORD,
        [survey_id for survey_id, _ in versions],
        [version for _, version in versions],
        _rows(totals),
        _rows(tallies),
        _rows(crossed),
    )


# The cells go as JSON arrays ([version's number, key..., increment]): asyncpg encodes a batch's
# thousand-odd cross-tab cells as seven arrays in about four times the CPU that json.dumps takes,
# and that was the largest part of a submission batch's time in the web process. Each statement's
# rows keep the array's (sorted) order, so that two batches lock shared cells in the same order
# and cannot deadlock; the one statement is one round trip instead of three.
RECORD = """
WITH versions AS (
    SELECT * FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS v(survey_id, version, n)),
tallied AS (
    INSERT INTO tallies AS t (survey_id, version, question, bucket, responses)
    SELECT v.survey_id, v.version, c->>1, c->>2, (c->>3)::int
    FROM json_array_elements($4::json) WITH ORDINALITY AS cells(c, i)
    JOIN versions v ON v.n = (c->>0)::int
    ORDER BY cells.i
    ON CONFLICT (survey_id, version, question, bucket)
    DO UPDATE SET responses = t.responses + excluded.responses),
crossed AS (
    INSERT INTO crosstab_tallies AS t (survey_id, version, "by", question, bucket, by_bucket, responses)
    SELECT v.survey_id, v.version, c->>1, c->>2, c->>3, c->>4, (c->>5)::int
    FROM json_array_elements($5::json) WITH ORDINALITY AS cells(c, i)
    JOIN versions v ON v.n = (c->>0)::int
    ORDER BY cells.i
    ON CONFLICT (survey_id, version, "by", question, bucket, by_bucket)
    DO UPDATE SET responses = t.responses + excluded.responses)
INSERT INTO survey_totals AS t (survey_id, version, responses)
SELECT v.survey_id, v.version, (c->>1)::int
FROM json_array_elements($3::json) WITH ORDINALITY AS cells(c, i)
JOIN versions v ON v.n = (c->>0)::int
ORDER BY cells.i
ON CONFLICT (survey_id, version) DO UPDATE SET responses = t.responses + excluded.responses"""


def _rows(counts: Mapping[Key, int]) -> str:
    """The keys and counts as a JSON array of rows, sorted: a fixed order of rows."""
    return json.dumps([[*key, n] for key, n in sorted(counts.items())])
