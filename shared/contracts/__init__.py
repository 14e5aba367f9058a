"""The event contracts every service imports: the envelope, each payload, and parsing on receipt."""

import functools
import typing
from typing import Any

import pydantic_core
from pydantic import BaseModel, ValidationError

from shared.contracts.accounts import OrganizerActed
from shared.contracts.campaigns import Audience, AudienceMember, CampaignAudienceListed, CampaignLaunched
from shared.contracts.decisions import ApplicationDecided, DecisionRecorded
from shared.contracts.envelope import Envelope, Event
from shared.contracts.meetings import (
    MeetingAttended,
    MeetingCancelled,
    MeetingScheduled,
    MeetingUpdated,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationPromoted,
    RegistrationWaitlisted,
)
from shared.contracts.notifications import CampaignContacted, NotificationFailed, PersonUnsubscribed
from shared.contracts.organisations import OrganisationNamed
from shared.contracts.people import (
    Channel,
    Consent,
    ConsentChanged,
    ConsentConfirmed,
    ConsentRequested,
    DetailsChanged,
    Language,
    PersonErased,
    PersonRegistered,
    Purpose,
    SignInLinkRequested,
)
from shared.contracts.regions import BaselineFigure, RegionBaselinesPublished
from shared.contracts.survey_tallies import SurveyClosed
from shared.contracts.surveys import InvitationIssued, InvitationReminderDue, ResponseSubmitted, SurveyMode

__all__ = [
    "EVENT_TYPES",
    "ApplicationDecided",
    "Audience",
    "AudienceMember",
    "BaselineFigure",
    "CampaignAudienceListed",
    "CampaignContacted",
    "CampaignLaunched",
    "Channel",
    "Consent",
    "ConsentChanged",
    "ConsentConfirmed",
    "ConsentRequested",
    "DecisionRecorded",
    "DetailsChanged",
    "Envelope",
    "Event",
    "InvalidMessage",
    "InvitationIssued",
    "InvitationReminderDue",
    "Language",
    "MeetingAttended",
    "MeetingCancelled",
    "MeetingScheduled",
    "MeetingUpdated",
    "NotificationFailed",
    "OrganisationNamed",
    "OrganizerActed",
    "PersonErased",
    "PersonRegistered",
    "PersonUnsubscribed",
    "Purpose",
    "RegionBaselinesPublished",
    "RegistrationCancelled",
    "RegistrationConfirmed",
    "RegistrationPromoted",
    "RegistrationWaitlisted",
    "ResponseSubmitted",
    "SignInLinkRequested",
    "SurveyClosed",
    "SurveyMode",
    "parse_message",
]

EVENT_TYPES: dict[tuple[str, int], type[Event]] = {
    (cls.type, cls.version): cls
    for cls in (
        PersonRegistered,
        ConsentRequested,
        ConsentConfirmed,
        ConsentChanged,
        PersonErased,
        CampaignLaunched,
        CampaignAudienceListed,
        SignInLinkRequested,
        DetailsChanged,
        RegionBaselinesPublished,
        InvitationIssued,
        InvitationReminderDue,
        ResponseSubmitted,
        OrganisationNamed,
        MeetingScheduled,
        MeetingUpdated,
        MeetingCancelled,
        RegistrationConfirmed,
        RegistrationWaitlisted,
        RegistrationPromoted,
        RegistrationCancelled,
        MeetingAttended,
        DecisionRecorded,
        ApplicationDecided,
        SurveyClosed,
        NotificationFailed,
        PersonUnsubscribed,
        CampaignContacted,
        OrganizerActed,
    )
}


class InvalidMessage(ValueError):
    """A message that can never be handled, however often it is retried."""


def parse_message(body: bytes) -> tuple[Envelope, Event]:
    """The envelope and event in ``body``, or InvalidMessage, whatever the bytes: a message that
    could raise anything else (RecursionError on deep nesting, say) would end its consumer.

    Tolerant on receipt: fields this code does not know yet (a newer producer added them) are
    ignored, in the envelope and in the event; producing stays strict (``extra="forbid"``)."""
    try:
        return _parse(body)
    except InvalidMessage:
        raise
    except Exception as exc:  # a contract's own validator failing in a way pydantic does not wrap
        raise InvalidMessage(f"not a valid event: {type(exc).__name__}: {exc}") from exc


def _parse(body: bytes) -> tuple[Envelope, Event]:
    try:
        raw = pydantic_core.from_json(body)
    except ValueError as exc:  # pydantic's parser bounds nesting and number length itself
        raise InvalidMessage(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidMessage("invalid envelope: not a JSON object")
    try:
        envelope = Envelope.model_validate(_known(Envelope, raw))
    except ValidationError as exc:
        raise InvalidMessage(f"invalid envelope: {exc}") from exc
    contract = EVENT_TYPES.get((envelope.type, envelope.version))
    if contract is None:
        raise InvalidMessage(f"unknown event type {envelope.type} v{envelope.version}")
    try:
        return envelope, contract.model_validate(_known(contract, envelope.data))
    except ValidationError as exc:
        raise InvalidMessage(f"invalid {envelope.type} v{envelope.version}: {exc}") from exc


def _known(model: type[BaseModel], raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` without the fields ``model`` does not know, in its parts too (a campaign's
    audience, each consent of a set), which are models of their own."""
    known, parts = _field_names(model), _parts(model)
    kept = {}
    for name, value in raw.items():
        if name not in known:
            continue
        part = parts.get(name)
        if part is not None and isinstance(value, dict):
            value = _known(part, value)
        elif part is not None and isinstance(value, list):
            value = [_known(part, item) if isinstance(item, dict) else item for item in value]
        kept[name] = value
    return kept


@functools.cache
def _parts(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The fields holding a model, or a tuple or list of one, or an optional one."""
    found = {}
    for name, field in model.model_fields.items():
        for candidate in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found[name] = candidate
    return found


@functools.cache
def _field_names(model: type[BaseModel]) -> frozenset[str]:
    # Looked up once per contract: ``model_fields`` is a property that builds its answer on each
    # read, which made this filter a twentieth of a consumer's CPU.
    return frozenset(model.model_fields)
