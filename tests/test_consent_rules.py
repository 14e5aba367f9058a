"""Consent per channel and purpose: the rules alone, without I/O."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.engagement.people.consent import (
    CHANNELS,
    PERSON,
    PURPOSES,
    ChangedBy,
    ConsentChange,
    Method,
    applied,
    confirmation_change,
    label,
    ordered,
    parse_consent,
    unreachable,
)
from shared.contracts import Consent

ALL = [Consent(channel=c, purpose=p) for c in CHANNELS for p in PURPOSES]
consent_sets = st.frozensets(st.sampled_from(ALL))
OPERATOR = ChangedBy(kind="operator", id="maria")


def test_a_confirmed_registration_grants_email_for_meetings_and_surveys_only() -> None:
    change = confirmation_change(email="ana@example.org")
    assert change is not None
    assert sorted(label(c) for c in change.grant) == ["email:meetings", "email:surveys"]
    assert (change.method, change.changed_by) == (Method.CONFIRMATION_LINK, PERSON)
    assert confirmation_change(email=None) is None  # a number alone is never confirmed by a link


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email:meetings", ("email", "meetings")),
        (" sms:research_demographics ", ("sms", "research_demographics")),
    ],
)
def test_consents_are_written_channel_colon_purpose(text: str, expected: tuple[str, str]) -> None:
    consent = parse_consent(text)
    assert (consent.channel, consent.purpose) == expected


@pytest.mark.parametrize("text", ["email", "email:", "fax:meetings", "email:news", "meetings:email", ""])
def test_a_bad_consent_is_named_with_what_is_accepted(text: str) -> None:
    with pytest.raises(
        ValueError, match=r"not CHANNEL:PURPOSE \(channels: email, sms; purposes: meet"
    ):
        parse_consent(text)


def test_a_change_must_change_something_and_not_both_ways() -> None:
    meetings = parse_consent("email:meetings")
    with pytest.raises(ValueError, match="nothing to grant or withdraw"):
        ConsentChange(method=Method.CLI, changed_by=OPERATOR)
    with pytest.raises(ValueError, match="both granted and withdrawn: email:meetings"):
        ConsentChange(grant={meetings}, withdraw={meetings}, method=Method.CLI, changed_by=OPERATOR)


@pytest.mark.parametrize(
    ("method", "by", "allowed"),
    [
        (Method.RESIDENT_PAGE, PERSON, True),
        (Method.RESIDENT_PAGE, ChangedBy(kind="account", id=str(uuid.uuid4())), False),
        (Method.ORGANIZER, ChangedBy(kind="account", id=str(uuid.uuid4())), True),
        (Method.ORGANIZER, PERSON, False),
        (Method.IMPORT, OPERATOR, False),
        (Method.CLI, OPERATOR, True),
        (Method.CLI, PERSON, False),
        (Method.CONFIRMATION_LINK, OPERATOR, False),
    ],
)
def test_who_may_change_consent_which_way(method: Method, by: ChangedBy, allowed: bool) -> None:
    def make() -> ConsentChange:
        return ConsentChange(grant={parse_consent("email:surveys")}, method=method, changed_by=by)

    if allowed:
        make()
    else:
        with pytest.raises(ValueError, match=f"cannot be made by {by.kind}"):
            make()


def test_who_changed_it_is_recorded_by_name() -> None:
    account = uuid.uuid4()
    assert str(PERSON) == "person"
    assert str(ChangedBy(kind="account", id=str(account))) == f"account:{account}"
    assert str(OPERATOR) == "operator:maria"
    with pytest.raises(ValueError, match="badly formed hexadecimal UUID"):
        ChangedBy(kind="account", id="not-a-uuid")
    with pytest.raises(ValueError, match="operator's login"):
        ChangedBy(kind="operator", id="maria; DROP")
    with pytest.raises(ValueError, match="not named"):
        ChangedBy(kind="person", id="x")


def test_a_grant_needs_an_address_on_its_channel() -> None:
    change = ConsentChange(
        grant={parse_consent("sms:meetings"), parse_consent("email:surveys")},
        method=Method.CLI,
        changed_by=OPERATOR,
    )
    assert [label(c) for c in unreachable(change, email="a@example.org", phone=None)] == ["sms:meetings"]
    assert [label(c) for c in unreachable(change, email=None, phone="+15105550142")] == ["email:surveys"]
    assert unreachable(change, email="a@example.org", phone="+15105550142") == []


@given(current=consent_sets, grant=consent_sets, withdraw=consent_sets)
def test_a_change_applies_exactly_its_effective_part(
    current: frozenset[Consent], grant: frozenset[Consent], withdraw: frozenset[Consent]
) -> None:
    withdraw = withdraw - grant
    if not grant and not withdraw:
        return
    change = ConsentChange(grant=grant, withdraw=withdraw, method=Method.CLI, changed_by=OPERATOR)
    effective = change.effective(current)
    after = applied(current, effective)
    assert after == (current | grant) - withdraw
    # Only what changes is recorded: granting what is given, or withdrawing what is not, is not.
    assert set(effective) == (grant - current) | (withdraw & current)
    assert applied(after, change.effective(after)) == after


@given(consents=consent_sets)
def test_the_announced_set_has_one_order(consents: frozenset[Consent]) -> None:
    assert ordered(consents) == ordered(reversed(list(consents)))
    assert set(ordered(consents)) == consents
