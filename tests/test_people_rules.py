import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.engagement.people import PersonRegistration


def test_contact_details_are_normalised() -> None:
    person = PersonRegistration(
        display_name="  Ana Ruiz ",
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
