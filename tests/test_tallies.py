"""The increments a survey response makes to its per-question tallies
(services/surveys/results/tallies.py): what each type of answer counts, and that a tally kept one
response at a time, in any order, with erasures, is the recount. No database, no HTTP."""

import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.surveys.building.definition import (
    SurveyDocument,
    check_answers,
    parse_document,
    visible_questions,
)
from services.surveys.results.tallies import ANSWERED, OTHER, SKIPPED, Cell, increments, recount
from tests.test_survey_definition import documents, options, question, raw, valid_answers


def document_of(*questions: dict[str, Any]) -> SurveyDocument:
    return parse_document(raw(*questions))


def counted(document: SurveyDocument, answers: dict[str, object]) -> dict[tuple[str, str], int]:
    assert check_answers(document, answers) == {}, answers
    return {tuple(cell): n for cell, n in increments(document, answers).items()}


EVERY_TYPE = document_of(
    question("single_choice", "tenure", other={"en": "Other"}, options=options("own", "rent")),
    question("multiple_choice", "travel", other={"en": "Other"}, options=options("bus", "bike", "car")),
    question("likert", "agree"),
    question("rating", "score"),
    question("ranking", "priority"),
    question("number", "age", min=0, max=120),
    question("date", "moved"),
    question("short_text", "zip"),
    question("long_text", "say"),
)


@pytest.mark.parametrize(
    ("id_", "answer", "cells"),
    [
        ("tenure", {"choice": "rent"}, {"rent": 1}),
        ("tenure", {"other": "Co-op"}, {OTHER: 1}),
        ("travel", {"choices": ["bus", "car"]}, {"bus": 1, "car": 1}),
        ("travel", {"choices": ["bike"], "other": "Walk"}, {"bike": 1, OTHER: 1}),
        ("travel", {"other": "Walk"}, {OTHER: 1}),
        ("agree", 4, {"4": 1}),
        ("score", 0, {"0": 1}),
        ("score", 10, {"10": 1}),
        ("priority", ["c", "a", "b"], {"c@1": 1, "a@2": 1, "b@3": 1}),
        ("age", 41, {ANSWERED: 1}),
        ("age", 41.5, {ANSWERED: 1}),
        ("moved", "2024-06-01", {ANSWERED: 1}),
        ("zip", "94110", {ANSWERED: 1}),
        ("say", "More buses, please.", {ANSWERED: 1}),
    ],
)
def test_each_type_of_answer_counts_in_its_buckets(id_: str, answer: object, cells: dict[str, int]) -> None:
    found = counted(EVERY_TYPE, {id_: answer})
    assert {bucket: n for (q, bucket), n in found.items() if q == id_} == cells
    # Every other question was shown and left unanswered.
    others = [q.id for _, q in EVERY_TYPE.questions() if q.id != id_]
    assert {(q, SKIPPED): 1 for q in others} == {cell: n for cell, n in found.items() if cell[0] != id_}


def test_a_null_answer_is_a_skip() -> None:
    assert counted(EVERY_TYPE, {"agree": None})[("agree", SKIPPED)] == 1


BRANCHING = document_of(
    question("single_choice", "renter"),
    question(
        "rating",
        "landlord",
        required=True,
        show_if={"kind": "equals", "question": "renter", "value": "yes"},
    ),
    question("short_text", "why", show_if={"kind": "answered", "question": "landlord"}),
    question("likert", "area"),
)


def test_a_hidden_branch_counts_nothing_and_a_skipped_optional_question_counts_as_skipped() -> None:
    assert counted(BRANCHING, {"renter": {"choice": "no"}, "area": 2}) == {
        ("renter", "no"): 1,
        ("area", "2"): 1,
    }
    assert counted(BRANCHING, {"renter": {"choice": "yes"}, "landlord": 7}) == {
        ("renter", "yes"): 1,
        ("landlord", "7"): 1,
        ("why", SKIPPED): 1,
        ("area", SKIPPED): 1,
    }
    # Nothing answered: what depends on an answer stays hidden, the rest is skipped.
    assert counted(BRANCHING, {}) == {("renter", SKIPPED): 1, ("area", SKIPPED): 1}


def test_cells_are_frozen_keys() -> None:
    cell = Cell("renter", "yes")
    assert cell == ("renter", "yes") and hash(cell) == hash(("renter", "yes"))
    assert Cell(question="renter", bucket="yes").bucket == "yes"


def test_recount_sums_the_responses() -> None:
    responses: list[dict[str, object]] = [
        {"renter": {"choice": "yes"}, "landlord": 7, "why": "Repairs", "area": 5},
        {"renter": {"choice": "yes"}, "landlord": 7},
        {"renter": {"choice": "no"}, "area": 5},
    ]
    assert recount(BRANCHING, responses) == Counter(
        {
            Cell("renter", "yes"): 2,
            Cell("renter", "no"): 1,
            Cell("landlord", "7"): 2,
            Cell("why", ANSWERED): 1,
            Cell("why", SKIPPED): 1,
            Cell("area", "5"): 2,
            Cell("area", SKIPPED): 1,
        }
    )
    assert recount(BRANCHING, []) == Counter()


# Properties, over generated documents and valid responses (the strategies of
# tests/test_survey_definition.py).

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def surveys(draw: st.DrawFn) -> tuple[SurveyDocument, list[dict[str, object]]]:
    document = parse_document(draw(documents()))
    responses = draw(st.lists(valid_answers(document), max_size=6))
    return document, responses


def _never_negative(tally: Counter[Cell]) -> None:
    assert all(n >= 0 for n in tally.values()), tally


@FAST
@given(surveys(), st.randoms(use_true_random=False))
def test_a_tally_kept_one_response_at_a_time_in_any_order_is_the_recount(
    survey: tuple[SurveyDocument, list[dict[str, object]]], rng: random.Random
) -> None:
    document, responses = survey
    order = list(responses)
    rng.shuffle(order)
    tally: Counter[Cell] = Counter()
    for answers in order:
        tally.update(increments(document, answers))
        _never_negative(tally)
    assert tally == recount(document, responses)


@FAST
@given(surveys(), st.data())
def test_erasing_a_response_leaves_the_recount_of_the_others(
    survey: tuple[SurveyDocument, list[dict[str, object]]], data: st.DataObject
) -> None:
    document, responses = survey
    tally = recount(document, responses)
    kept = list(responses)
    while kept:
        gone = kept.pop(data.draw(st.integers(0, len(kept) - 1)))
        tally.subtract(increments(document, gone))
        _never_negative(tally)
        assert tally == recount(document, kept)
    assert +tally == Counter()


@FAST
@given(surveys())
def test_each_shown_question_counts_once_per_response_in_its_own_cells(
    survey: tuple[SurveyDocument, list[dict[str, object]]],
) -> None:
    document, responses = survey
    ids = {q.id for _, q in document.questions()}
    for answers in responses:
        cells = increments(document, answers)
        assert all(n == 1 for n in cells.values()) and {c.question for c in cells} <= ids
        shown = {q.id for q in visible_questions(document, answers)}
        for _, q in document.questions():
            buckets = {c.bucket for c in cells if c.question == q.id}
            if q.id not in shown:
                assert not buckets
            elif q.id in answers:
                assert buckets and SKIPPED not in buckets
            else:
                assert buckets == {SKIPPED}


def test_an_option_called_other_is_never_counted_with_the_other_text() -> None:
    # The demographics' language at home has a band called "other"; a survey may also offer
    # "other, please specify" beside it.
    languages = document_of(
        question("single_choice", "home", other={"en": "Another"}, options=options("english", "other"))
    )
    both = recount(languages, [{"home": {"choice": "other"}}, {"home": {"other": "Tagalog"}}])
    assert sorted(both.values()) == [1, 1]  # two cells, not one counted twice
    assert both[Cell("home", "other")] == 1
