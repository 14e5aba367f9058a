"""The rules of changing a survey and the builder's forms, without I/O."""

from services.surveys.building.builder_forms import (
    errors_beside,
    form_from_question,
    moved,
    question_from_form,
)
from services.surveys.building.definition import document_errors
from services.surveys.building.editing import Edit, Step, edit_in, retyped_questions, status_after
from services.surveys.building.lifecycle import Phase
from tests.support.surveys import branching_document


def test_an_edit_replaces_a_draft_versions_an_open_survey_and_is_refused_once_closed() -> None:
    assert edit_in(Phase.DRAFT) is Edit.REPLACE
    assert edit_in(Phase.SCHEDULED) is edit_in(Phase.OPEN) is Edit.NEW_VERSION
    assert edit_in(Phase.CLOSED) is Edit.REFUSED


def test_the_lifecycle_never_goes_back() -> None:
    assert status_after("draft", Step.OPEN) == "open"
    assert status_after("open", Step.CLOSE) == "closed"
    assert status_after("draft", Step.CLOSE) is None
    assert status_after("open", Step.OPEN) is None
    assert status_after("closed", Step.OPEN) is status_after("closed", Step.CLOSE) is None


def test_a_question_id_keeps_its_type_across_versions_even_after_leaving_one() -> None:
    first = branching_document()
    without = branching_document()
    del without["sections"][1]["questions"][0]
    back = branching_document()
    back["sections"][1]["questions"][0] = {"id": "plan_rating", "type": "number", "prompt": {"en": "?"}}
    assert retyped_questions([first], branching_document()) == []
    assert [path for path, _ in retyped_questions([first, without], back)] == ["sections.1.questions.0.type"]


def test_a_question_round_trips_through_its_form() -> None:
    question = branching_document()["sections"][0]["questions"][1]
    form = form_from_question(question, ["en", "es"])
    assert question_from_form(form, "multiple_choice", ["en", "es"], "en", question) == question


def test_moving_past_a_pages_edge_goes_to_the_next_page_and_a_refusal_is_placed_by_field() -> None:
    document = moved(branching_document(), "training", 1)
    assert [q["id"] for q in document["sections"][1]["questions"]] == ["training", "plan_rating", "comment"]
    assert document_errors(document) == []
    up = moved(branching_document(), "training", -1)
    errors = document_errors(up)
    assert errors_beside(errors, 0, 0, "en") == {"show_if_question": errors[0][1]}
    assert errors_beside(errors, 1, 0, "en") == {"form": f"{errors[0][0]}: {errors[0][1]}"}
