"""The results' rules without I/O: questions and labels over versions, the public page's
suppression, cross-tab tables, CSV cells and the charts."""

import uuid
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from services.surveys.building.definition import parse_document
from services.surveys.results.charts import bar_chart
from services.surveys.results.crosstab import crosstabs, demographic_columns
from services.surveys.results.export import cell
from services.surveys.results.models import BucketCount, QuestionResult, Results
from services.surveys.results.report import asked_questions, bucket_label, in_language, public_view
from tests.support.surveys import branching_document


def results_of(*rows: list[int], threshold: int = 5, responses: int = 100) -> Results:
    return Results(
        survey_id=uuid.uuid4(),
        title="t",
        language="en",
        threshold=threshold,
        responses=responses,
        versions=[],
        questions=[
            QuestionResult(
                id=f"q{i}",
                type="single_choice",
                prompt="?",
                asked_in=[1],
                buckets=[BucketCount(bucket=str(j), label=str(j), responses=n) for j, n in enumerate(row)],
                free_text=False,
            )
            for i, row in enumerate(rows)
        ],
    )


def shown(results: Results) -> list[list[int | None]]:
    return [[b.responses for b in q.buckets] for q in results.questions]


def test_the_public_page_hides_small_counts_and_one_more_so_the_total_does_not_give_them() -> None:
    assert shown(public_view(results_of([2, 40, 58, 0]))) == [[None, None, 58, 0]]
    assert shown(public_view(results_of([30, 70]))) == [[30, 70]]
    assert shown(public_view(results_of([7, 3], threshold=3))) == [[7, 3]]


def test_the_public_page_shows_nothing_of_a_question_whose_every_count_is_small_or_zero() -> None:
    # Shown to 3 people only (a branch): the zeros and a known 3 would pin the hidden one.
    assert shown(public_view(results_of([3, 0, 0], [50, 50]))) == [[None, None, None], [50, 50]]


def test_the_public_page_shows_no_figure_under_the_threshold_of_responses() -> None:
    assert shown(public_view(results_of([4, 0], responses=4))) == [[None, None]]


def version_two() -> dict:
    document = branching_document()
    work = document["sections"][0]["questions"][0]
    work["options"] = [work["options"][0], {"id": "retired", "label": {"en": "Retired", "es": "Jubilado"}}]
    work["prompt"] = {"en": "Do you work in a factory?", "es": "¿Trabaja en una fábrica?"}
    document["sections"][0]["questions"].pop(1)  # training is asked no more
    return document


def test_questions_are_the_newest_versions_then_the_older_ones_and_labels_fall_back() -> None:
    documents = {1: parse_document(branching_document()), 2: parse_document(version_two())}
    asked = asked_questions(documents, current=2)
    assert [a.question.id for a in asked] == ["works_in_manufacturing", "plan_rating", "comment", "training"]
    work = asked[0]
    assert work.versions == (1, 2) and work.question.prompt.root["en"] == "Do you work in a factory?"
    with in_language("es"):
        assert bucket_label(work, "retired", "es") == "Jubilado"
        assert bucket_label(work, "no", "es") == "No"  # an option only version 1 has
        assert bucket_label(work, "gone", "es") == "gone"  # none has it: its code
        assert bucket_label(work, "@skipped", "es") == "Sin responder"
    assert asked[-1].versions == (1,)


def test_a_cross_tab_has_a_column_per_band_and_suppresses_with_the_threshold() -> None:
    documents = {1: parse_document(branching_document(with_demographics=True))}
    asked = asked_questions(documents, current=1)
    with in_language("en"):
        columns = demographic_columns("tenure", asked, "en")
        crossed = {
            ("works_in_manufacturing", "yes", "owner"): 2,
            ("works_in_manufacturing", "no", "owner"): 9,
        }
        crossed |= {("works_in_manufacturing", "no", "renter"): 8}
        tables = crosstabs("tenure", columns, asked, crossed, 5, "en")
    assert [c.label for c in columns] == ["Owner", "Renter", "Skipped"]
    work = next(t for t in tables.tables if t.question == "works_in_manufacturing")
    rows = {row.bucket: row for row in work.rows}
    # The 2 hides the 9 beside it in its column, which hides the 8 in its row.
    assert rows["yes"].cells == [None, 0, 0] and rows["no"].cells == [None, None, 0]
    assert work.column_totals[1] is None  # or 8 would be its column's total
    assert {t.question for t in tables.tables} >= {"plan_rating", "age"}
    assert "tenure" not in {t.question for t in tables.tables} and "comment" not in {
        t.question for t in tables.tables
    }


def test_a_csv_cell_a_spreadsheet_would_run_is_defused_and_numbers_are_left_alone() -> None:
    assert cell("=1+2") == "'=1+2" and cell("@SUM(A1)") == "'@SUM(A1)" and cell("+33 6") == "'+33 6"
    assert cell("-3") == "-3" and cell("-2.5") == "-2.5" and cell(-3) == "-3"
    assert cell("fine") == "fine" and cell(None) == ""


@given(
    st.lists(st.tuples(st.text(max_size=30), st.none() | st.integers(0, 10**9)), max_size=12),
    st.text(max_size=40),
)
def test_a_chart_is_well_formed_svg_with_a_bar_per_shown_count(
    bars: list[tuple[str, int | None]], title: str
) -> None:
    root = ET.fromstring(bar_chart(bars, title=title))  # noqa: S314  (our own output)
    assert root.get("role") == "img" and root.find("{http://www.w3.org/2000/svg}title") is None
    assert root.find("title") is not None
    assert len(root.findall("rect")) == sum(1 for _, value in bars if value)
    labels = [t.text or "" for t in root.findall("text")]
    assert all(label.endswith(": *") for label, (_, value) in zip(labels, bars, strict=True) if value is None)
