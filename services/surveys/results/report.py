"""What a results page shows, from the stored counts: each question's buckets in the order of its
document, labelled in the reader's language, and the public page's suppressed version. No I/O.

A survey may have several versions. Questions are those of the current version in its order,
then those only older versions ask (newest first); each is labelled from the newest version that
asks it, and a bucket no longer in it (an option since removed) from an older one, or shown as
its code when none has it."""

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from services.surveys.building.definition import (
    RATING_MAX,
    Likert,
    LongText,
    MultipleChoice,
    Question,
    Ranking,
    Rating,
    ShortText,
    SingleChoice,
    SurveyDocument,
    Text,
)
from services.surveys.results.models import BucketCount, QuestionResult, Results
from services.surveys.results.suppression import Suppressed, suppress
from services.surveys.results.tallies import ANSWERED, OTHER, SKIPPED, ranked
from shared.i18n import LANGUAGES, language_var
from shared.i18n import gettext_ as _

Counts = Mapping[tuple[str, str], int]


@contextlib.contextmanager
def in_language(language: str) -> Iterator[None]:
    """The platform's own words (Skipped, Other...) in ``language`` when it has them, else English,
    whatever the request's language: the API answers in the language asked for."""
    token = language_var.set(language if language in LANGUAGES else "en")
    try:
        yield
    finally:
        language_var.reset(token)


@dataclass(frozen=True)
class Asked:
    """A question as its newest version has it, every version's document, and the versions
    asking it."""

    question: Question
    document: SurveyDocument
    versions: tuple[int, ...]
    older: tuple[tuple[Question, SurveyDocument], ...]  # the same id in older versions, newest first
    # (bucket, language) -> label, filled as asked: a survey's questions are read again and
    # again (store.py keeps them per set of versions), their labels worked out once.
    labels: dict[tuple[str, str], str] = field(default_factory=dict, compare=False, repr=False)


def asked_questions(documents: Mapping[int, SurveyDocument], current: int) -> list[Asked]:
    newest_first = sorted(documents, key=lambda v: (v != current, -v))
    found: dict[str, list[tuple[int, Question]]] = {}
    for version in newest_first:
        for _loc, question in documents[version].questions():
            found.setdefault(question.id, []).append((version, question))
    return [
        Asked(
            question=seen[0][1],
            document=documents[seen[0][0]],
            versions=tuple(sorted(version for version, _q in seen)),
            older=tuple((q, documents[version]) for version, q in seen[1:]),
        )
        for seen in found.values()
    ]


def words(text: Text, document: SurveyDocument, language: str) -> str:
    """A document's text in ``language``, falling back to the survey's main language."""
    return text.in_language(language, document.main_language)


def _options(question: Question) -> list[str]:
    if isinstance(question, SingleChoice | MultipleChoice | Ranking):
        return [option.id for option in question.options]
    return []


def expected_buckets(question: Question) -> list[str]:
    """Every bucket the question can count in, in the order a page lists them."""
    if isinstance(question, SingleChoice | MultipleChoice):
        return [*_options(question), *([OTHER] if question.other is not None else []), SKIPPED]
    if isinstance(question, Likert):
        return [*(str(point) for point in range(1, question.points + 1)), SKIPPED]
    if isinstance(question, Rating):
        return [*(str(point) for point in range(RATING_MAX + 1)), SKIPPED]
    if isinstance(question, Ranking):
        ids = _options(question)
        return [*(ranked(option, rank) for option in ids for rank in range(1, len(ids) + 1)), SKIPPED]
    return [ANSWERED, SKIPPED]


def _label_in(question: Question, document: SurveyDocument, bucket: str, language: str) -> str | None:
    """The bucket's label as this version of the question has it; None when it has none."""
    if bucket == SKIPPED:
        return _("Skipped")
    if bucket == ANSWERED:
        return _("Answered")
    if bucket == OTHER:
        other = getattr(question, "other", None)
        return words(other, document, language) if other is not None else _("Other")
    options = {
        option.id: words(option.label, document, language) for option in getattr(question, "options", ())
    }
    if isinstance(question, Ranking):
        option, _at, rank = bucket.rpartition("@")
        if option in options:
            return _("%(option)s, ranked %(rank)s") % {"option": options[option], "rank": rank}
        return None
    if isinstance(question, Likert) and bucket.isdigit() and 1 <= int(bucket) <= question.points:
        return words(question.labels[int(bucket) - 1], document, language)
    if isinstance(question, Rating):
        return bucket
    return options.get(bucket)


def bucket_label(asked: Asked, bucket: str, language: str) -> str:
    """The bucket's label in ``language`` (the platform's own words in the one in_language set)."""
    key = (bucket, language)
    if key not in asked.labels:
        found = (
            _label_in(question, document, bucket, language)
            for question, document in ((asked.question, asked.document), *asked.older)
        )
        asked.labels[key] = next((label for label in found if label is not None), bucket)
    return asked.labels[key]


def bucket_order(asked: Asked, counts: Counts) -> list[str]:
    """The newest version's buckets, then any only older versions counted (as the tallies hold)."""
    listed = expected_buckets(asked.question)
    extra = sorted({bucket for (question, bucket) in counts if question == asked.question.id} - set(listed))
    return listed[:-1] + extra + listed[-1:]  # the skip stays last


def has_free_text(question: Question) -> bool:
    return isinstance(question, ShortText | LongText) or getattr(question, "other", None) is not None


def question_results(asked: list[Asked], counts: Counts, language: str) -> list[QuestionResult]:
    return [
        QuestionResult(
            id=a.question.id,
            type=a.question.type,
            prompt=words(a.question.prompt, a.document, language),
            asked_in=list(a.versions),
            buckets=[
                BucketCount(
                    bucket=bucket,
                    label=bucket_label(a, bucket, language),
                    responses=counts.get((a.question.id, bucket), 0),
                )
                for bucket in bucket_order(a, counts)
            ],
            free_text=has_free_text(a.question),
        )
        for a in asked
    ]


def public_view(results: Results) -> Results:
    """The results as the public page shows them. Fewer responses than the threshold: no figure
    at all. Otherwise each question's buckets are one row of a table suppressed by
    suppression.py (its total being what a reader can work out from the responses); when even
    that row's total would be hidden, nothing of the question is shown, zeros included, as the
    shown zeros and the number of responses would then give the hidden count away."""
    if results.responses < results.threshold:
        return results.model_copy(update={"questions": [_hidden(q) for q in results.questions]})
    shown = []
    for question in results.questions:
        counts = [bucket.responses or 0 for bucket in question.buckets]
        table = suppress([counts], results.threshold)
        if isinstance(table.row_totals[0], Suppressed):
            shown.append(_hidden(question))
            continue
        shown.append(
            question.model_copy(
                update={
                    "buckets": [
                        bucket.model_copy(
                            update={"responses": None if isinstance(cell, Suppressed) else cell}
                        )
                        for bucket, cell in zip(question.buckets, table.cells[0], strict=True)
                    ]
                }
            )
        )
    return results.model_copy(update={"questions": shown, "crosstabs": None})


def _hidden(question: QuestionResult) -> QuestionResult:
    buckets = [bucket.model_copy(update={"responses": None}) for bucket in question.buckets]
    return question.model_copy(update={"buckets": buckets})
