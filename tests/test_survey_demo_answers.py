"""The demo's answers are valid for their documents, and lean as they say they do."""

import random
from collections import Counter

from services.surveys.building.definition import check_answers, parse_document
from services.surveys.demo import DREAM, NORTHSIDE, document
from services.surveys.demo.answers import answers


def test_every_demo_answer_passes_the_rules_of_its_survey() -> None:
    for survey in (DREAM, NORTHSIDE):
        parsed = parse_document(document(survey))
        rng = random.Random(survey.slug)
        for _ in range(500):
            given = answers(parsed, rng, "94607")
            assert check_answers(parsed, given) == {}, given


def test_renters_answer_less_often_than_owners_and_branches_are_taken() -> None:
    parsed = parse_document(document(DREAM))
    rng = random.Random(7)
    drawn = [answers(parsed, rng, None) for _ in range(600)]
    tenure = Counter(a["tenure"]["choice"] for a in drawn if "tenure" in a)  # type: ignore[index]
    assert tenure["owner"] > 2 * tenure["renter"] > 0
    # training is shown only to those who do not (or no longer) work in manufacturing
    shown = [a for a in drawn if a["works_in_manufacturing"] != {"choice": "yes"}]
    assert any("training" in a for a in shown)
    assert not any("training" in a for a in drawn if a["works_in_manufacturing"] == {"choice": "yes"})
