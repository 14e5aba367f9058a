"""The event contracts every service imports: the envelope, each payload, and parsing on receipt."""

import json

from pydantic import ValidationError

from shared.contracts.envelope import Envelope, Event
from shared.contracts.people import ConsentConfirmed, ConsentRequested, Language, PersonRegistered

__all__ = [
    "EVENT_TYPES",
    "ConsentConfirmed",
    "ConsentRequested",
    "Envelope",
    "Event",
    "InvalidMessage",
    "Language",
    "PersonRegistered",
    "parse_message",
]

EVENT_TYPES: dict[tuple[str, int], type[Event]] = {
    (cls.type, cls.version): cls for cls in (PersonRegistered, ConsentRequested, ConsentConfirmed)
}


class InvalidMessage(ValueError):
    """A message that can never be handled, however often it is retried."""


def parse_message(body: bytes) -> tuple[Envelope, Event]:
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidMessage(f"not JSON: {exc}") from exc
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        raise InvalidMessage(f"invalid envelope: {exc}") from exc
    contract = EVENT_TYPES.get((envelope.type, envelope.version))
    if contract is None:
        raise InvalidMessage(f"unknown event type {envelope.type} v{envelope.version}")
    try:
        return envelope, contract.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidMessage(f"invalid {envelope.type} v{envelope.version}: {exc}") from exc
