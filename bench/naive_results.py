# ruff: noqa: S608  (the SQL is built from a document's question and option ids, quoted by _literal)
"""The results page's figures computed the naive way, from every response's answers (jsonb) with
GROUP BY: the baseline of ``results_read``, and how its set-up fills the tallies of a million
generated responses at once.

The SQL is generated from the survey's document, one branch per question, following the tally
rules of results/tallies.py (a shown question left unanswered counts ``@skipped``, a hidden one
nothing; choices, ``@other``, points, ``@answered``) and the cross-tabs' of results/recording.py
(each cell again per region and per demographic answer, a question not crossed with itself).
Shown-if conditions: ``equals`` only, which is what the bench's survey has."""

from services.surveys.building.definition import (
    Equals,
    Likert,
    MultipleChoice,
    Question,
    Ranking,
    Rating,
    SingleChoice,
    SurveyDocument,
)
from services.surveys.results.recording import CROSSED_BY, REGION, UNKNOWN
from services.surveys.results.tallies import ANSWERED, OTHER, SKIPPED


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _answer(question_id: str) -> str:
    return f"r.answers -> {_literal(question_id)}"


def _unanswered(question_id: str) -> str:
    a = _answer(question_id)
    return f"({a} IS NULL OR jsonb_typeof({a}) = 'null')"


def _shown(question: Question, by_id: dict[str, Question]) -> str:
    """SQL true when ``question`` is shown to the respondent of ``r``."""
    condition = question.show_if
    if condition is None:
        return "true"
    if not isinstance(condition, Equals):
        raise ValueError(f"{question.id}: the naive query handles equals conditions only")
    depends = by_id[condition.question]
    a = _answer(condition.question)
    if isinstance(depends, SingleChoice | MultipleChoice):
        value = _literal(str(condition.value))
        holds = f"({a} -> 'choice' = to_jsonb({value}::text) OR {a} -> 'choices' ? {value})"
    else:
        holds = f"({a} = to_jsonb({condition.value}))"
    return f"({_shown(depends, by_id)} AND {holds})"


def _buckets(question: Question, shown: str) -> list[str]:
    """SELECTs of (question, bucket), one row per cell the response of ``r`` adds 1 to."""
    q, a = _literal(question.id), _answer(question.id)
    skipped = f"SELECT {q}, {_literal(SKIPPED)} WHERE {shown} AND {_unanswered(question.id)}"
    if isinstance(question, SingleChoice | MultipleChoice):
        return [
            skipped,
            f"SELECT {q}, {a} ->> 'choice' WHERE {shown} AND {a} ->> 'choice' IS NOT NULL",
            f"SELECT {q}, c FROM jsonb_array_elements_text(CASE WHEN {shown} THEN {a} -> 'choices' END) c",
            f"SELECT {q}, {_literal(OTHER)} WHERE {shown} AND jsonb_typeof({a} -> 'other') = 'string'",
        ]
    if isinstance(question, Likert | Rating):
        return [skipped, f"SELECT {q}, {a} #>> '{{}}' WHERE {shown} AND NOT {_unanswered(question.id)}"]
    if isinstance(question, Ranking):
        return [
            skipped,
            f"SELECT {q}, o || '@' || n FROM jsonb_array_elements_text(CASE WHEN {shown} AND "
            f"jsonb_typeof({a}) = 'array' THEN {a} END) WITH ORDINALITY AS t(o, n)",
        ]
    return [skipped, f"SELECT {q}, {_literal(ANSWERED)} WHERE {shown} AND NOT {_unanswered(question.id)}"]


def _cells(document: SurveyDocument) -> str:
    """A LATERAL subquery: the cells (question, bucket) of the response ``r``."""
    questions = [question for _, question in document.questions()]
    by_id = {question.id: question for question in questions}
    selects = [s for question in questions for s in _buckets(question, _shown(question, by_id))]
    return "(" + "\n UNION ALL ".join(selects) + ") AS cell(question, bucket)"


def _crossings(document: SurveyDocument) -> str:
    """A LATERAL subquery: the (by, by_bucket) the response ``r`` is cross-counted under."""
    questions = [question for _, question in document.questions()]
    by_id = {question.id: question for question in questions}
    selects = [f"SELECT {_literal(REGION)}, coalesce(r.region_id::text, {_literal(UNKNOWN)})"]
    for question in questions:
        if question.id not in CROSSED_BY:
            continue
        q, a, shown = _literal(question.id), _answer(question.id), _shown(question, by_id)
        selects += [
            f"SELECT {q}, {_literal(SKIPPED)} WHERE {shown} AND jsonb_typeof({a}) IS DISTINCT FROM 'object'",
            f"SELECT {q}, {a} ->> 'choice' WHERE {shown} AND {a} ->> 'choice' IS NOT NULL",
            f"SELECT {q}, c FROM jsonb_array_elements_text(CASE WHEN {shown} AND "
            f"jsonb_typeof({a} -> 'choices') = 'array' THEN {a} -> 'choices' END) c",
        ]
    return "(" + "\n UNION ALL ".join(selects) + ") AS crossing(by, by_bucket)"


def tallies_sql(document: SurveyDocument) -> str:
    """(version, question, bucket, responses) of the survey $1, from its responses."""
    return f"""SELECT r.version, cell.question, cell.bucket, count(*)::int AS responses
               FROM surveys.responses r, LATERAL {_cells(document)}
               WHERE r.survey_id = $1 GROUP BY 1, 2, 3"""


def crosstab_sql(document: SurveyDocument) -> str:
    """(version, by, by_bucket, question, bucket, responses) of the survey $1 crossed by $2
    (a demographics question or region), from its responses."""
    return f"""SELECT r.version, crossing.by, crossing.by_bucket, cell.question, cell.bucket,
                      count(*)::int AS responses
               FROM surveys.responses r, LATERAL {_crossings(document)}, LATERAL {_cells(document)}
               WHERE r.survey_id = $1 AND crossing.by = $2 AND cell.question <> crossing.by
               GROUP BY 1, 2, 3, 4, 5"""


def every_crosstab_sql(document: SurveyDocument) -> str:
    """The cross-tabs of the survey $1 by every demographics question and region."""
    return crosstab_sql(document).replace("crossing.by = $2 AND ", "")
