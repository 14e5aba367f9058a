import json
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.engagement.people import (
    EMAIL_PATTERN,
    NAME_PATTERN,
    PHONE_PATTERN,
    POSTAL_PATTERN,
    PersonRegistration,
)


def test_contact_details_are_normalised() -> None:
    person = PersonRegistration(
        display_name="  Ana Ruiz\t",
        email="Ana@Example.ORG",
        phone="(510) 555-0142 1",
        postal_code="95116",
        consent_to_contact=True,
    )
    assert person.display_name == "Ana Ruiz"
    assert person.email == "Ana@example.org"
    assert person.phone == "+51055501421"
    assert person.language == "en"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-address"),
        ("email", "a\x00b@example.org"),  # PostgreSQL cannot store NUL: refused, not a 500
        ("email", "a\u202eb@example.org"),
        ("phone", "12ab"),
        ("postal_code", "!!"),
        ("language", "fr"),
        ("display_name", ""),
        ("display_name", "bell\x07"),
    ],
)
def test_bad_fields_are_named(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PersonRegistration.model_validate({"display_name": "Ana", field: value})
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_consent_needs_a_way_to_reach_the_person() -> None:
    with pytest.raises(ValidationError) as caught:
        PersonRegistration(display_name="Ana", consent_to_contact=True)
    assert caught.value.errors()[0]["loc"] == ("consent_to_contact",)
    assert PersonRegistration(display_name="Ana", phone="+15105550142", consent_to_contact=True)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        PersonRegistration.model_validate({"display_name": "Ana", "is_admin": True})


@given(st.text(max_size=30))
def test_any_phone_text_is_either_e164_or_refused(text: str) -> None:
    try:
        person = PersonRegistration(display_name="Ana", phone=text)
    except ValidationError:
        return
    assert person.phone is None or (
        person.phone.startswith("+") and person.phone[1:].isdigit() and 8 <= len(person.phone) - 1 <= 15
    )


@given(
    st.dictionaries(
        st.sampled_from(
            ["display_name", "email", "phone", "language", "postal_code", "consent_to_contact", "other"]
        ),
        st.one_of(st.text(max_size=40), st.booleans(), st.integers(), st.none()),
    )
)
def test_any_input_validates_or_raises_validation_error(data: dict[str, object]) -> None:
    try:
        PersonRegistration.model_validate(data)
    except ValidationError as exc:
        assert exc.errors()  # always says which field


@pytest.mark.parametrize(
    "name",
    [
        "👩\u200d👩\u200d👧\u200d👦 Ruiz",  # a family: emoji joined by ZWJ
        "🏳\ufe0f\u200d🌈",  # variation selector and joiner
        "فاطمه\u200cزهرا",  # noqa: RUF001 (Persian with a zero-width non-joiner)
        "क्\u200dष Sharma",  # Hindi with a zero-width joiner
        "Anne-Ma\u00adrie Lefèvre",  # soft hyphen
        "\u200fשרה\u200e Cohen",  # right-to-left and left-to-right marks
        "Ana \U0001fae8",  # an emoji newer than Python's Unicode tables (unassigned to them)
    ],
)
def test_names_people_type_are_accepted_as_typed(name: str) -> None:
    assert PersonRegistration(display_name=name).display_name == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bell\x07", "contains a control character U+0007 at position 5"),
        ("\x1b[31mred", "contains a control character U+001B at position 1"),
        ("two\nlines", "contains a control character U+000A at position 4"),
        ("a\u2028b", "contains a line break U+2028 at position 2"),
        ("evil\u202egnp.exe", "contains a bidirectional override U+202E at position 5"),
        ("\u200d\u00ad", "has no visible character"),
    ],
)
def test_a_refused_name_says_which_character_and_where(name: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PersonRegistration(display_name=name)
    [error] = caught.value.errors()
    assert error["loc"] == ("display_name",)
    assert message in error["msg"]


_TYPED = st.characters(
    exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters="\u202a\u202b\u202c\u202d\u202e"
)


@given(st.text(_TYPED, min_size=1, max_size=60).filter(lambda s: any(c.isalnum() for c in s)))
def test_any_name_without_control_characters_is_accepted(name: str) -> None:
    assert PersonRegistration(display_name=name).display_name == name.strip()


@given(
    st.text(_TYPED, max_size=20),
    st.characters(categories=("Cc",)),
    st.text(_TYPED, max_size=20),
)
def test_any_control_character_is_refused_by_its_code_point(before: str, control: str, after: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PersonRegistration(display_name=f"A{before}{control}{after}Z")
    assert f"U+{ord(control):04X}" in caught.value.errors()[0]["msg"]


def _accepted(field: str, value: str) -> bool:
    try:
        PersonRegistration.model_validate({"display_name": "Ana", field: value})
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("field", "pattern", "max_length"),
    [
        ("display_name", NAME_PATTERN, 200),
        ("email", EMAIL_PATTERN, 320),
        ("phone", PHONE_PATTERN, None),
        ("postal_code", POSTAL_PATTERN, None),
    ],
)
@given(data=st.data())
def test_the_pattern_in_the_api_document_is_the_rule_applied(
    field: str, pattern: str, max_length: int | None, data: st.DataObject
) -> None:
    """What the OpenAPI document promises is what is accepted, so clients and the fuzzer can
    trust it."""
    value = data.draw(st.one_of(st.from_regex(pattern, fullmatch=True), st.text(max_size=40)))
    expected = re.search(pattern, value) is not None
    if max_length is not None:
        expected = expected and len(value) <= max_length
    if field == "display_name":  # the one rule no pattern can say: something visible
        expected = expected and any(unicodedata.category(c) not in {"Cf", "Zs", "Mn", "Me"} for c in value)
    assert _accepted(field, value) == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [("display_name", " " * 200 + "Ana"), ("email", " " * 321), ("email", "ana@example.org" + " " * 310)],
)
def test_lengths_count_the_value_as_sent_as_the_document_says(field: str, value: str) -> None:
    assert not _accepted(field, value)


def test_consent_is_a_json_boolean_not_a_number_or_a_word() -> None:
    for value in (0, 1, "true", "yes"):
        body = {"display_name": "Ana", "phone": "+15105550142", "consent_to_contact": value}
        with pytest.raises(ValidationError):
            PersonRegistration.model_validate_json(json.dumps(body))
