"""A survey's document and the rules of answering it (services/surveys/building/definition.py):
what a document may say, where each problem is reported, and which answers a respondent may give.
No database, no HTTP."""

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.surveys.building.definition import (
    MAX_CONDITION_DEPTH,
    POSTAL_CODE,
    MultipleChoice,
    SingleChoice,
    SurveyDocument,
    Text,
    check_answers,
    demographics_section,
    document_errors,
    parse_document,
    visible_questions,
)
from shared.demographics import CATALOGUE, Dimension


def text(words: str = "words") -> dict[str, str]:
    return {"en": words}


def options(*ids: str) -> list[dict[str, Any]]:
    return [{"id": i, "label": text(i)} for i in ids]


def question(type_: str, id_: str = "q", **fields: Any) -> dict[str, Any]:
    defaults: dict[str, dict[str, Any]] = {
        "single_choice": {"options": options("yes", "no")},
        "multiple_choice": {"options": options("a", "b", "c")},
        "likert": {"points": 5, "labels": [text(str(i)) for i in range(5)]},
        "ranking": {"options": options("a", "b", "c")},
    }
    return {"type": type_, "id": id_, "prompt": text(), **defaults.get(type_, {}), **fields}


def raw(*questions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "main_language": "en",
        "languages": ["en"],
        "title": text("A survey"),
        "sections": [{"title": text("Page"), "questions": list(questions)}],
        **fields,
    }


def errors(document: dict[str, Any]) -> dict[str, str]:
    """{dotted loc: message} of the problems parse_document finds."""
    with pytest.raises(ValidationError) as refused:
        parse_document(document)
    return {".".join(map(str, e["loc"])): e["msg"] for e in refused.value.errors()}


Q0 = "sections.0.questions.0"
Q1 = "sections.0.questions.1"

# Documents


@pytest.mark.parametrize(
    "q",
    [
        question("single_choice"),
        question("single_choice", other=text("Other")),
        question("multiple_choice", min=1, max=3),
        question("multiple_choice", min=4, other=text("Other")),
        question("likert", points=7, labels=[text(str(i)) for i in range(7)]),
        question("rating"),
        question("ranking"),
        question("number", min=0, max=10.5, unit=text("years")),
        question("short_text", max_length=200),
        question("long_text", max_length=5000),
        question("date", earliest="2024-01-01", latest="2024-12-31"),
    ],
    ids=lambda q: q["type"],
)
def test_each_type_of_question_is_accepted(q: dict[str, Any]) -> None:
    document = parse_document(raw(q))
    assert document.sections[0].questions[0].type == q["type"]


@pytest.mark.parametrize(
    ("q", "at"),
    [
        (question("single_choice", options=options("only")), f"{Q0}.single_choice.options"),
        (question("multiple_choice", min=2, max=1), f"{Q0}.multiple_choice"),
        (question("multiple_choice", min=4), f"{Q0}.multiple_choice"),
        (question("likert", points=6, labels=[text()] * 6), f"{Q0}.likert.points"),
        (question("likert", labels=[text()] * 4), f"{Q0}.likert"),
        (question("rating", points=5), f"{Q0}.rating.points"),
        (question("ranking", options=options("a")), f"{Q0}.ranking.options"),
        (question("number", min=3, max=2), f"{Q0}.number"),
        (question("short_text", max_length=201), f"{Q0}.short_text.max_length"),
        (question("long_text", max_length=5001), f"{Q0}.long_text.max_length"),
        (question("date", earliest="2024-02-01", latest="2024-01-01"), f"{Q0}.date"),
        (question("date", earliest="1 Feb 2024"), f"{Q0}.date.earliest"),
        (question("rating", id_="Q1"), f"{Q0}.rating.id"),
        (question("essay"), f"{Q0}"),
    ],
)
def test_a_question_that_breaks_its_rules_is_refused_at_its_path(q: dict[str, Any], at: str) -> None:
    assert at in errors(raw(q))


def test_ids_must_be_unique_and_are_reported_where_repeated() -> None:
    found = errors(
        raw(question("rating", "q"), question("single_choice", "q", options=options("a", "b", "a")))
    )
    assert found == {
        f"{Q1}.id": "q is the id of an earlier question",
        f"{Q1}.options.2.id": "a is the id of an earlier option",
    }


def test_every_text_needs_the_main_language_and_only_the_surveys_languages() -> None:
    french = [{"id": "a", "label": {"en": "A", "fr": "A"}}, {"id": "b", "label": text("B")}]
    q = question("single_choice", prompt={"es": "¿Sí?"}, options=french)
    found = errors(raw(q, languages=["en", "es"]))
    assert found == {
        f"{Q0}.prompt": "needs the main language en",
        f"{Q0}.options.0.label.fr": "is not one of the survey's languages",
    }
    assert errors(raw(question("rating"), languages=["es"])) == {
        "languages": "must include the main language en"
    }


def test_a_text_falls_back_to_the_main_language() -> None:
    label = Text({"en": "Yes", "es": "Sí"})
    assert label.in_language("es", "en") == "Sí"
    assert label.in_language("vi", "en") == "Yes"


def test_document_errors_give_one_field_path_per_problem_without_union_tags() -> None:
    document = raw(
        question("likert", "first", points=6, labels=[]),
        shown_if(
            {"kind": "any", "conditions": [{"kind": "answered"}, {"kind": "answered", "question": "x"}]}
        ),
    )
    assert document_errors(document) == [
        (f"{Q0}.points", "Input should be 5 or 7"),
        (f"{Q1}.show_if.conditions.0.question", "Field required"),
    ]
    # Refused items do not also make their tuple "too short".
    assert document_errors(raw(question("rating"), question("rating", "r", prompt={}))) == [
        (f"{Q1}.prompt", "Dictionary should have at least 1 item after validation, not 0")
    ]
    assert document_errors(raw()) == [
        ("sections.0.questions", "Tuple should have at least 1 item after validation, not 0")
    ]
    assert document_errors(raw(question("rating"))) == []


def test_a_field_the_document_does_not_have_is_refused() -> None:
    assert "colour" in errors(raw(question("rating"), colour="red"))


# Conditions


def shown_if(condition: dict[str, Any], id_: str = "later") -> dict[str, Any]:
    return question("rating", id_, show_if=condition)


@pytest.mark.parametrize(
    ("condition", "at", "message"),
    [
        ({"kind": "answered", "question": "later"}, "question", "a question cannot depend on its own answer"),
        (
            {"kind": "answered", "question": "last"},
            "question",
            "last comes later: a condition may use earlier",
        ),
        ({"kind": "answered", "question": "nowhere"}, "question", "no question nowhere in this survey"),
        ({"kind": "equals", "question": "first", "value": "maybe"}, "value", "first has no option maybe"),
        (
            {"kind": "any_of", "question": "first", "options": ["yes", "maybe"]},
            "options.1",
            "first has no option",
        ),
        ({"kind": "equals", "question": "words", "value": "x"}, "value", "equals needs a choice"),
        ({"kind": "any_of", "question": "words", "options": ["x"]}, "question", "any_of needs a single or"),
        (
            {"kind": "all", "conditions": [{"kind": "answered", "question": "last"}]},
            "conditions.0.question",
            "",
        ),
    ],
)
def test_a_condition_may_only_use_earlier_questions_and_their_options(
    condition: dict[str, Any], at: str, message: str
) -> None:
    document = raw(
        question("single_choice", "first"),
        question("short_text", "words"),
        shown_if(condition),
        question("rating", "last"),
    )
    found = errors(document)
    assert list(found) == [f"sections.0.questions.2.show_if.{at}"]
    assert found[f"sections.0.questions.2.show_if.{at}"].startswith(message)


def test_equals_needs_a_value_the_earlier_question_can_be_answered_with() -> None:
    for value in (6, 0, "yes"):
        found = errors(
            raw(
                question("likert", "first"), shown_if({"kind": "equals", "question": "first", "value": value})
            )
        )
        assert found == {f"{Q1}.show_if.value": "needs a whole number that first can be answered with"}
    parse_document(
        raw(question("likert", "first"), shown_if({"kind": "equals", "question": "first", "value": 5}))
    )


def nested(depth: int) -> dict[str, Any]:
    condition: dict[str, Any] = {"kind": "answered", "question": "first"}
    for _ in range(depth - 1):
        condition = {"kind": "any", "conditions": [condition]}
    return condition


def test_conditions_nest_only_so_deep() -> None:
    parse_document(raw(question("rating", "first"), shown_if(nested(MAX_CONDITION_DEPTH))))
    too_deep = f"{Q1}.show_if" + ".conditions.0" * MAX_CONDITION_DEPTH
    assert errors(raw(question("rating", "first"), shown_if(nested(MAX_CONDITION_DEPTH + 1)))) == {
        too_deep: "conditions nest at most 4 deep"
    }


BRANCHING = parse_document(
    raw(
        question("single_choice", "renter", options=options("yes", "no")),
        question(
            "rating",
            "landlord",
            required=True,
            show_if={"kind": "equals", "question": "renter", "value": "yes"},
        ),
        question("long_text", "repairs", show_if={"kind": "answered", "question": "landlord"}),
        question(
            "multiple_choice", "issues", show_if={"kind": "any_of", "question": "renter", "options": ["no"]}
        ),
        question(
            "short_text",
            "both",
            show_if={
                "kind": "all",
                "conditions": [
                    {"kind": "equals", "question": "landlord", "value": 0},
                    {"kind": "any", "conditions": [{"kind": "answered", "question": "repairs"}]},
                ],
            },
        ),
    )
)


def shown(answers: dict[str, object]) -> list[str]:
    return [q.id for q in visible_questions(BRANCHING, answers)]


def test_which_questions_are_shown_follows_earlier_answers() -> None:
    assert shown({}) == ["renter"]
    assert shown({"renter": {"choice": "yes"}}) == ["renter", "landlord"]
    assert shown({"renter": {"choice": "yes"}, "landlord": 0}) == ["renter", "landlord", "repairs"]
    assert shown({"renter": {"choice": "yes"}, "landlord": 0, "repairs": "Mould"})[-1] == "both"
    assert shown({"renter": {"choice": "no"}}) == ["renter", "issues"]


def test_a_hidden_question_needs_no_answer_even_when_required_and_must_have_none() -> None:
    assert check_answers(BRANCHING, {"renter": {"choice": "no"}}) == {}
    assert check_answers(BRANCHING, {"renter": {"choice": "no"}, "landlord": 3}) == {
        "landlord": "is hidden by its condition: it must not be answered"
    }


def test_an_answer_to_a_hidden_question_shows_nothing_that_depends_on_it() -> None:
    # landlord is hidden, so its (refused) answer does not count as answered for repairs.
    assert shown({"renter": {"choice": "no"}, "landlord": 3}) == ["renter", "issues"]


def test_a_required_question_that_is_shown_needs_an_answer() -> None:
    assert check_answers(BRANCHING, {"renter": {"choice": "yes"}}) == {"landlord": "needs an answer"}
    assert check_answers(BRANCHING, {"renter": {"choice": "yes"}, "landlord": None}) == {
        "landlord": "needs an answer"
    }
    assert check_answers(BRANCHING, {"renter": {"choice": "yes"}, "landlord": 7}) == {}


def test_an_answer_to_no_question_is_refused() -> None:
    assert check_answers(BRANCHING, {"tenure": "renter"}) == {"tenure": "no such question in this survey"}


# Answers, type by type


@pytest.mark.parametrize(
    ("q", "good", "bad"),
    [
        (
            question("single_choice", other=text("Other")),
            [{"choice": "yes"}, {"other": "Sometimes"}],
            [
                "yes",
                {"choice": "maybe"},
                {"choice": "yes", "other": "x"},
                {},
                {"other": ""},
                {"other": "x" * 201},
            ],
        ),
        (
            question("single_choice"),
            [{"choice": "no"}],
            [{"other": "Sometimes"}, {"choice": "no", "colour": "red"}],
        ),
        (
            question("multiple_choice", min=2, max=3, other=text("Other")),
            [
                {"choices": ["a", "b"]},
                {"choices": ["a", "c"], "other": "d"},
                {"choices": ["a"], "other": "d"},
            ],
            [
                {"choices": ["a"]},
                {"choices": ["a", "a"]},
                {"choices": ["a", "b", "c"], "other": "d"},
                {"choices": "a"},
            ],
        ),
        (
            question("multiple_choice"),
            [{"choices": ["c"]}],
            [{"choices": []}, {"choices": ["z"]}, {"other": "x"}],
        ),
        (question("likert"), [1, 5], [0, 6, 2.5, True, "3"]),
        (question("rating"), [0, 10], [-1, 11, 5.5, "7", float("nan")]),
        (
            question("ranking"),
            [["c", "a", "b"]],
            [["a", "b"], ["a", "b", "b"], ["a", "b", "c", "d"], "abc", [1, 2, 3]],
        ),
        (question("number", min=0, max=120), [0, 37.5, 120], [-1, 121, True, "3", float("inf")]),
        (question("number"), [-1e9, 1e9], [float("nan")]),
        (question("short_text", max_length=10), ["94110", "x" * 10], ["x" * 11, "", "  ", 94110]),
        (question("long_text"), ["x" * 2000], ["x" * 2001, ["x"]]),
        (
            question("date", earliest="2024-01-01", latest="2024-12-31"),
            ["2024-01-01", "2024-12-31"],
            ["2023-12-31", "2025-01-01", "20240102", "2024-02-30", "2024-1-2", 20240101],
        ),
    ],
    ids=lambda value: value["type"] if isinstance(value, dict) and "type" in value else "",
)
def test_each_type_of_answer_is_checked(q: dict[str, Any], good: list[object], bad: list[object]) -> None:
    document = parse_document(raw(q))
    for answer in good:
        assert check_answers(document, {"q": answer}) == {}, answer
    for answer in bad:
        found = check_answers(document, {"q": answer})
        assert found and all(path in ("q", "q.other") for path in found), answer


def test_other_text_is_refused_where_no_other_is_offered() -> None:
    document = parse_document(raw(question("single_choice")))
    assert check_answers(document, {"q": {"other": "x"}}) == {
        "q.other": "this question offers no 'other' choice"
    }


# The demographics section


def test_demographics_options_are_the_baselines_bands() -> None:
    section = demographics_section(["en", "es"])
    by_id = {q.id: q for q in section.questions}
    assert set(by_id) == {d.value for d in Dimension} | {POSTAL_CODE}
    for dimension in Dimension:
        q = by_id[dimension.value]
        assert isinstance(q, SingleChoice | MultipleChoice)
        assert [o.id for o in q.options] == [band.code for band in CATALOGUE[dimension].bands]
    assert isinstance(by_id[Dimension.RACE_ETHNICITY.value], MultipleChoice)
    assert not any(q.required for q in section.questions)


def test_demographics_is_written_in_the_surveys_languages() -> None:
    section = demographics_section(["es", "vi"])
    document = parse_document(
        {"main_language": "es", "languages": ["es", "vi"], "title": {"es": "Encuesta"}, "sections": [section]}
    )
    assert document.sections[0].questions[0].prompt.root == {"es": "¿Qué edad tiene?"}
    age = demographics_section(["en"]).questions[0]
    assert isinstance(age, SingleChoice)
    assert [o.label.root["en"] for o in age.options][:2] == ["Under 18 years", "18-24 years"]
    with pytest.raises(ValueError, match="English and Spanish"):
        demographics_section(["vi"])


def test_demographic_answers_are_checked_like_any_other() -> None:
    document = parse_document(raw(languages=["en"]) | {"sections": [demographics_section(["en"])]})
    answers = {"age": {"choice": "25_34"}, "race_ethnicity": {"choices": ["black", "hispanic_latino"]}}
    assert check_answers(document, answers | {POSTAL_CODE: "94110"}) == {}
    assert check_answers(document, {"household_income": {"choice": "rich"}}) == {
        "household_income": "there is no option rich"
    }


# Properties

LANGUAGES = ("en", "es", "vi")
labels = st.sampled_from(["Yes", "No", "Sí", "Quizás", "Có", "x" * 50])


@st.composite
def texts(draw: st.DrawFn, main: str, languages: list[str]) -> dict[str, str]:
    others = draw(st.lists(st.sampled_from(languages), unique=True, max_size=2))
    return {language: draw(labels) for language in {main, *others}}


@st.composite
def conditions(draw: st.DrawFn, earlier: list[dict[str, Any]], depth: int = 1) -> dict[str, Any]:
    if depth < 3 and draw(st.booleans()):
        parts = draw(st.lists(conditions(earlier, depth + 1), min_size=1, max_size=2))
        return {"kind": draw(st.sampled_from(["all", "any"])), "conditions": parts}
    q = draw(st.sampled_from(earlier))
    ids = [o["id"] for o in q.get("options", [])]
    kinds = ["answered"]
    if q["type"] in ("single_choice", "multiple_choice"):
        kinds += ["equals", "any_of"]
    elif q["type"] in ("likert", "rating"):
        kinds.append("equals")
    kind = draw(st.sampled_from(kinds))
    if kind == "any_of":
        return {
            "kind": kind,
            "question": q["id"],
            "options": draw(st.lists(st.sampled_from(ids), min_size=1)),
        }
    if kind == "equals":
        value = draw(st.sampled_from(ids)) if ids else draw(st.integers(1, 5))
        return {"kind": kind, "question": q["id"], "value": value}
    return {"kind": kind, "question": q["id"]}


@st.composite
def questions(draw: st.DrawFn, id_: str, main: str, languages: list[str]) -> dict[str, Any]:
    def t() -> dict[str, str]:
        return draw(texts(main, languages))

    def opts(n: int) -> list[dict[str, Any]]:
        return [{"id": f"o{i}", "label": t()} for i in range(n)]

    kind = draw(
        st.sampled_from(
            [
                "single_choice",
                "multiple_choice",
                "likert",
                "rating",
                "ranking",
                "number",
                "short_text",
                "long_text",
                "date",
            ]
        )
    )
    q: dict[str, Any] = {"type": kind, "id": id_, "prompt": t(), "required": draw(st.booleans())}
    if kind == "single_choice":
        q |= {"options": opts(draw(st.integers(2, 4)))} | ({"other": t()} if draw(st.booleans()) else {})
    elif kind == "multiple_choice":
        n = draw(st.integers(2, 4))
        low = draw(st.integers(1, n))
        q |= {"options": opts(n), "min": low, "max": draw(st.integers(low, n))}
    elif kind == "likert":
        points = draw(st.sampled_from([5, 7]))
        q |= {"points": points, "labels": [t() for _ in range(points)]}
    elif kind == "ranking":
        q |= {"options": opts(draw(st.integers(2, 3)))}
    elif kind == "number":
        q |= {"min": draw(st.integers(-5, 0)), "max": draw(st.integers(1, 5)), "unit": t()}
    elif kind in ("short_text", "long_text"):
        q |= {"max_length": draw(st.integers(1, 200))}
    elif kind == "date":
        q |= {"earliest": "2024-01-01", "latest": "2024-12-31"}
    return q


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    main = draw(st.sampled_from(LANGUAGES))
    languages = [main, *draw(st.lists(st.sampled_from([x for x in LANGUAGES if x != main]), unique=True))]
    sections = []
    earlier: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 2))):
        page = []
        for _ in range(draw(st.integers(1, 3))):
            q = draw(questions(f"q{len(earlier)}", main, languages))
            if earlier and draw(st.booleans()):
                q["show_if"] = draw(conditions(earlier))
            page.append(q)
            earlier.append(q)
        sections.append({"title": draw(texts(main, languages)), "questions": page})
    return {
        "main_language": main,
        "languages": languages,
        "title": draw(texts(main, languages)),
        "sections": sections,
    } | ({"description": draw(texts(main, languages))} if draw(st.booleans()) else {})


def valid_answer(draw: st.DrawFn, q: Any) -> object:
    match q.type:
        case "single_choice":
            if q.other is not None and draw(st.booleans()):
                return {"other": draw(labels)}
            return {"choice": draw(st.sampled_from([o.id for o in q.options]))}
        case "multiple_choice":
            ids = [o.id for o in q.options]
            return {
                "choices": draw(st.lists(st.sampled_from(ids), unique=True, min_size=q.min, max_size=q.max))
            }
        case "likert":
            return draw(st.integers(1, q.points))
        case "rating":
            return draw(st.integers(0, 10))
        case "ranking":
            return draw(st.permutations([o.id for o in q.options]))
        case "number":
            return draw(st.floats(q.min, q.max) | st.integers(int(q.min), int(q.max)))
        case "short_text" | "long_text":
            return draw(st.text(st.characters(codec="utf-8"), max_size=q.max_length).filter(str.strip))
        case _:
            return draw(st.dates(q.earliest, q.latest)).isoformat()


@st.composite
def valid_answers(draw: st.DrawFn, document: SurveyDocument) -> dict[str, object]:
    answers: dict[str, object] = {}
    for _, q in document.questions():
        # Only earlier answers decide whether q is shown, so the answers so far are enough.
        if q in visible_questions(document, answers) and (q.required or draw(st.booleans())):
            answers[q.id] = valid_answer(draw, q)
    return answers


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 12)
    | st.floats()
    | st.sampled_from(["o0", "o1", "", "2024-06-01"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["choice", "choices", "other"]), inner)
    ),
    max_leaves=5,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(documents())
def test_a_document_exports_as_itself(document: dict[str, Any]) -> None:
    parsed = parse_document(document)
    assert parse_document(parsed.model_dump(mode="json")) == parsed


@FAST
@given(st.data())
def test_any_answers_are_checked_without_failing(data: st.DataObject) -> None:
    document = parse_document(data.draw(documents()))
    ids = st.sampled_from([q.id for _, q in document.questions()] + ["nowhere"])
    answers = data.draw(st.dictionaries(ids, json_values, max_size=4))
    assert isinstance(check_answers(document, answers), dict)


@FAST
@given(st.data())
def test_answers_given_by_the_rules_are_accepted(data: st.DataObject) -> None:
    document = parse_document(data.draw(documents()))
    answers = data.draw(valid_answers(document))
    assert check_answers(document, answers) == {}


def test_the_demographics_section_exports_as_itself() -> None:
    document = SurveyDocument(
        main_language="en",
        languages=("en", "es"),
        title=Text({"en": "About"}),
        sections=(demographics_section(["en", "es"]),),
    )
    assert parse_document(document.model_dump(mode="json")) == document
