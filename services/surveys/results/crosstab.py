"""Cross-tabs of a survey's questions by a demographics question or by region, as shown: each
question's buckets (rows) by the bands or regions (columns), suppressed by suppression.py with
the survey's threshold, for organizers and everyone alike. No I/O.

The counts are recording.py's cross-tab cells summed over versions. A response is in a column
per band it chose (race and ethnicity is a multiple choice), so totals are sums of cells, as
suppression.py takes them, not numbers of respondents. Text, number and date questions are not
crossed (they count only answered or skipped), nor is the question with itself."""

from collections.abc import Mapping, Sequence
from functools import lru_cache

from services.surveys.building.definition import Question
from services.surveys.results.models import CrossColumn, CrossRow, CrossTab, CrossTabs, Shown
from services.surveys.results.recording import CROSSED_BY, REGION, UNKNOWN
from services.surveys.results.report import Asked, bucket_label, bucket_order, words
from services.surveys.results.suppression import Suppressed, SuppressedTable, suppress
from services.surveys.results.tallies import ANSWERED, SKIPPED
from shared.demographics import CATALOGUE, Dimension
from shared.i18n import gettext_ as _

CROSSABLE = ("single_choice", "multiple_choice", "likert", "rating", "ranking")
BY_CHOICES = (*sorted(CROSSED_BY), REGION)

Crossed = Mapping[tuple[str, str, str], int]  # (question, bucket, by_bucket) -> responses


def by_label(by: str) -> str:
    if by == REGION:
        return _("Region")
    return _(CATALOGUE[Dimension(by)].label)


def demographic_columns(by: str, asked: Sequence[Asked], language: str) -> list[CrossColumn]:
    """A dimension's bands in the catalogue's order, labelled as the survey asks them, and the skip."""
    question = next((a for a in asked if a.question.id == by), None)
    columns = []
    for band in CATALOGUE[Dimension(by)].bands:
        label = bucket_label(question, band.code, language) if question else band.label
        columns.append(CrossColumn(band=band.code, label=label))
    columns.append(CrossColumn(band=SKIPPED, label=_("Skipped")))
    return columns


def region_columns(crossed: Crossed, names: Mapping[str, str]) -> list[CrossColumn]:
    """The regions responses came from, by name, then those whose region is not known."""
    found = {by_bucket for (_q, _b, by_bucket) in crossed}
    known = sorted((names.get(band, band), band) for band in found if band != UNKNOWN)
    columns = [CrossColumn(band=band, label=name) for name, band in known]
    if UNKNOWN in found:
        columns.append(CrossColumn(band=UNKNOWN, label=_("Region not known")))
    return columns


def _shown(value: int | Suppressed) -> Shown:
    return None if isinstance(value, Suppressed) else value


@lru_cache(maxsize=4096)
def _suppressed(counts: tuple[tuple[int, ...], ...], threshold: int) -> SuppressedTable:
    """suppression.suppress, kept per table of counts: most of a live survey's tables are as they
    were at the last read, and the audit is the costly part of a results page."""
    return suppress([list(row) for row in counts], threshold)


def _crossable(question: Question, by: str) -> bool:
    return question.type in CROSSABLE and question.id != by


def crosstabs(
    by: str,
    columns: list[CrossColumn],
    asked: Sequence[Asked],
    crossed: Crossed,
    threshold: int,
    language: str,
) -> CrossTabs:
    tables = []
    bands = [column.band for column in columns]
    as_tallies = {(question, bucket): 1 for (question, bucket, _by) in crossed}
    for a in asked:
        if not columns or not _crossable(a.question, by):
            continue
        buckets = [b for b in bucket_order(a, as_tallies) if b != ANSWERED]
        counts = [[crossed.get((a.question.id, bucket, band), 0) for band in bands] for bucket in buckets]
        table = _suppressed(tuple(tuple(row) for row in counts), threshold)
        tables.append(
            CrossTab(
                question=a.question.id,
                prompt=words(a.question.prompt, a.document, language),
                rows=[
                    CrossRow(
                        bucket=bucket,
                        label=bucket_label(a, bucket, language),
                        cells=[_shown(cell) for cell in cells],
                        total=_shown(total),
                    )
                    for bucket, cells, total in zip(buckets, table.cells, table.row_totals, strict=True)
                ],
                column_totals=[_shown(total) for total in table.column_totals],
                grand_total=_shown(table.grand_total),
            )
        )
    return CrossTabs(by=by, label=by_label(by), columns=columns, tables=tables)
