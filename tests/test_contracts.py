import contextlib
import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.engagement.app import SPEC as ENGAGEMENT
from services.notifications.app import SPEC as NOTIFICATIONS
from services.surveys.app import SPEC as SURVEYS
from shared.contracts import (
    EVENT_TYPES,
    ConsentChanged,
    ConsentConfirmed,
    ConsentRequested,
    DetailsChanged,
    Envelope,
    InvalidMessage,
    InvitationIssued,
    NotificationFailed,
    OrganizerActed,
    PersonErased,
    PersonRegistered,
    SignInLinkRequested,
    parse_message,
)
from shared.contracts.export import SCHEMA_DIR, current_schemas

CONTACT_DATA = {"display_name", "email", "phone"}


def _person() -> PersonRegistered:
    return PersonRegistered(
        person_id=uuid4(), language="es", postal_code="95116", registered_at=datetime.now(UTC)
    )


def test_exported_schemas_match_the_contracts() -> None:
    """A change to a published event must show in review: run `make schemas` and commit the diff."""
    committed = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    assert committed == current_schemas()


def test_an_event_survives_the_wire() -> None:
    event = _person()
    envelope = Envelope.wrap(event, producer="engagement", correlation_id="req-123")
    received_envelope, received = parse_message(envelope.model_dump_json().encode())
    assert received == event
    assert received_envelope.id == envelope.id
    assert received_envelope.correlation_id == "req-123"


def test_events_are_frozen() -> None:
    with pytest.raises(Exception, match="frozen"):
        _person().postal_code = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff not json", "not JSON"),
        (b"[1, 2]", "invalid envelope"),
        (
            json.dumps(
                {
                    "type": "person.teleported",
                    "version": 1,
                    "occurred_at": "2026-01-01T00:00:00Z",
                    "producer": "x",
                    "data": {},
                }
            ).encode(),
            "unknown event type",
        ),
        (
            json.dumps(
                {
                    "type": "person.registered",
                    "version": 2,
                    "occurred_at": "2026-01-01T00:00:00Z",
                    "producer": "x",
                    "data": {"person_id": "nope"},
                }
            ).encode(),
            "invalid person.registered",
        ),
    ],
)
def test_unusable_messages_are_named(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        parse_message(body)


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_parse_or_raise_invalid_message(body: bytes) -> None:
    with contextlib.suppress(InvalidMessage):
        parse_message(body)


def test_contact_data_travels_only_to_notifications() -> None:
    """Only person.consent_requested, person.sign_in_link_requested and person.details_changed
    carry contact data, and notifications alone binds them (routing key = type);
    person.registered and person.erased go to every service."""
    carrying = {key for key, contract in EVENT_TYPES.items() if CONTACT_DATA & set(contract.model_fields)}
    assert carrying == {
        (ConsentRequested.type, ConsentRequested.version),
        (SignInLinkRequested.type, SignInLinkRequested.version),
        (DetailsChanged.type, DetailsChanged.version),
    }
    assert set(ConsentRequested.model_fields) >= CONTACT_DATA
    bound = {
        spec.name: {key for sub in spec.subscriptions for key in sub.routing_keys}
        for spec in (SURVEYS, NOTIFICATIONS)
    }
    # Surveys hears of people (and of regions, organisations, campaigns), never their contact data.
    assert bound["surveys"] >= {PersonRegistered.type, PersonErased.type}
    assert not bound["surveys"] & {event_type for event_type, _ in carrying}
    assert bound["notifications"] == {
        PersonRegistered.type,
        ConsentRequested.type,
        ConsentConfirmed.type,
        ConsentChanged.type,
        PersonErased.type,
        SignInLinkRequested.type,
        DetailsChanged.type,
        InvitationIssued.type,  # a survey's link, mailed on consent: no contact data in it
        "invitation.reminder_due",  # an invitation not used yet: no link, no response
        "response.submitted",  # who answered by invitation, for a decision's outcome
        "decision.recorded",
        "application.decided",  # an applicant's pseudonymous contact, told their outcome
        "campaign.launched",
        "campaign.audience_listed",  # person ids and languages only
        "meeting.scheduled",
        "meeting.updated",
        "meeting.cancelled",
        # A registrant's name and address, where they asked to hear about the meeting: bound by
        # notifications alone (surveys binds none of them, above).
        "registration.confirmed",
        "registration.waitlisted",
        "registration.promoted",
        "registration.cancelled",
    }
    assert not bound["surveys"] & {t for t in bound["notifications"] if t.startswith("registration.")}


def test_engagement_hears_back_from_surveys_and_notifications() -> None:
    """Engagement binds what the other two tell it back, each on the queue that applies it:
    responses and closings, contacted counts, unsubscribes, refused addresses
    (notification.failed: no contact data in its fields, though the server's answer may quote
    the address, which engagement holds anyway) and their organizers' writes, for its audit log
    (organizer.acted: an account id and roles, no contact data)."""
    bound = [(sub.consumer, key) for sub in ENGAGEMENT.subscriptions for key in sub.routing_keys]
    assert sorted(bound) == [
        ("engagement.audit", OrganizerActed.type),
        ("engagement.contacts", "campaign.contacted"),
        ("engagement.decision_responses", "response.submitted"),
        ("engagement.decision_responses", "survey.closed"),
        ("engagement.refusals", NotificationFailed.type),
        ("engagement.responses", "response.submitted"),
        ("engagement.unsubscribes", "person.unsubscribed"),
    ]
    assert not CONTACT_DATA & set(NotificationFailed.model_fields)
    assert not CONTACT_DATA & set(OrganizerActed.model_fields)
