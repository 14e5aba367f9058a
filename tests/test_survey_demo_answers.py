"""The demo's answers are valid for their documents, and lean as they say they do."""

import json
import random
from collections import Counter
from pathlib import Path

from services.surveys.building.definition import check_answers, demographics_section, parse_document
from services.surveys.demo.answers import answers

DEMO = Path(__file__).resolve().parents[1] / "services" / "surveys" / "demo"


def with_demographics(name: str) -> dict[str, object]:
    raw = json.loads((DEMO / f"{name}.json").read_text())
    raw["sections"].append(demographics_section(raw["languages"]).model_dump(mode="json", exclude_none=True))
    return raw


def test_every_demo_answer_passes_the_rules_of_its_survey() -> None:
    for name in ("manufacturing_the_dream", "northside_site"):
        document = parse_document(with_demographics(name))
        rng = random.Random(name)
        for _ in range(500):
            given = answers(document, rng, "94607")
            assert check_answers(document, given) == {}, given


def test_renters_answer_less_often_than_owners_and_branches_are_taken() -> None:
    document = parse_document(with_demographics("manufacturing_the_dream"))
    rng = random.Random(7)
    drawn = [answers(document, rng, None) for _ in range(600)]
    tenure = Counter(a["tenure"]["choice"] for a in drawn if "tenure" in a)  # type: ignore[index]
    assert tenure["owner"] > 2 * tenure["renter"] > 0
    # training is shown only to those who do not (or no longer) work in manufacturing
    shown = [a for a in drawn if a["works_in_manufacturing"] != {"choice": "yes"}]
    assert any("training" in a for a in shown)
    assert not any("training" in a for a in drawn if a["works_in_manufacturing"] == {"choice": "yes"})
