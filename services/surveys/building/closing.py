"""The final tally a closing survey announces (``survey.closed``): each single-choice question of
its current version outside the demographics section, with its options' counts summed over
every version from the kept tallies, in the transaction that closes it. A resident ballot's
outcome is computed from these in engagement."""

import json
from datetime import datetime
from uuid import UUID

from services.surveys.building.definition import SingleChoice, parse_document
from services.surveys.results.tallies import OTHER, SKIPPED
from shared.contracts.survey_tallies import OptionCount, QuestionTally, SurveyClosed
from shared.db import DbConnection
from shared.demographics import Dimension
from shared.outbox import emit

_DEMOGRAPHICS = frozenset(dimension.value for dimension in Dimension)


async def closing_tally(conn: DbConnection, survey_id: UUID, closed_at: datetime) -> SurveyClosed:
    survey = await conn.fetchrow(
        """SELECT s.organisation_id, v.document::text AS document FROM surveys s
           JOIN survey_versions v ON v.survey_id = s.id AND v.version = s.current_version
           WHERE s.id = $1""",
        survey_id,
    )
    assert survey is not None  # the caller holds the survey locked
    document = parse_document(json.loads(survey["document"]))
    language = document.main_language
    asked = [
        question
        for section in document.sections
        for question in section.questions
        if isinstance(question, SingleChoice) and question.id not in _DEMOGRAPHICS
    ]
    counted = {
        (row["question"], row["bucket"]): int(row["responses"])
        for row in await conn.fetch(
            """SELECT question, bucket, sum(responses) AS responses FROM tallies
               WHERE survey_id = $1 AND question = ANY($2::text[]) GROUP BY question, bucket""",
            survey_id,
            [question.id for question in asked],
        )
    }
    questions = []
    for question in asked:
        options = [
            OptionCount(
                option=option.id,
                label=option.label.in_language(language, language),
                responses=counted.get((question.id, option.id), 0),
            )
            for option in question.options
        ]
        if question.other is not None:
            label = question.other.in_language(language, language)
            options.append(
                OptionCount(option=OTHER, label=label, responses=counted.get((question.id, OTHER), 0))
            )
        questions.append(
            QuestionTally(
                question=question.id,
                prompt=question.prompt.in_language(language, language),
                options=tuple(options),
                skipped=counted.get((question.id, SKIPPED), 0),
            )
        )
    responses = await conn.fetchval(
        "SELECT coalesce(sum(responses), 0) FROM survey_totals WHERE survey_id = $1", survey_id
    )
    pending = await conn.fetchval("SELECT count(*) FROM anonymous_pending WHERE survey_id = $1", survey_id)
    return SurveyClosed(
        survey_id=survey_id,
        organisation_id=survey["organisation_id"],
        closed_at=closed_at,
        responses=int(responses),
        pending=int(pending),
        questions=tuple(questions),
    )


async def announce_closing(conn: DbConnection, survey_id: UUID, request_id: str) -> None:
    """``survey.closed`` with the final tally, through the outbox of the closing transaction (an
    organizer's close, also of a survey whose closing time has passed: only that click publishes
    the tally, so a ballot is decided when its organizer says the survey is over)."""
    closed_at = await conn.fetchval("SELECT clock_timestamp()")
    await emit(
        conn,
        await closing_tally(conn, survey_id, closed_at),
        producer="surveys",
        correlation_id=request_id,
        aggregate=f"survey:{survey_id}",
    )
