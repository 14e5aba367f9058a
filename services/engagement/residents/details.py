"""What the resident page's forms accept, without I/O: the same rules as registration
(``PersonRegistration``), each refusal as a message for beside its field."""

from dataclasses import dataclass

from pydantic import ValidationError

from services.engagement.people import PersonRegistration
from services.engagement.people.consent import CHANNELS, PURPOSES, parse_consent
from shared.contracts import Consent, Language
from shared.i18n import gettext_ as _

FIELDS = ("display_name", "phone", "language", "postal_code")


@dataclass(frozen=True)
class Details:
    display_name: str
    phone: str | None
    language: Language
    postal_code: str | None


def parse_details(form: dict[str, str]) -> Details | dict[str, str]:
    """The details to save, or a message per refused field."""
    try:
        checked = PersonRegistration.model_validate({name: form.get(name, "") for name in FIELDS})
    except ValidationError as exc:
        refused = {str(error["loc"][0]) for error in exc.errors()}
        return {name: _messages()[name] for name in FIELDS if name in refused}
    return Details(checked.display_name, checked.phone, checked.language, checked.postal_code)


def _messages() -> dict[str, str]:
    # Built per call: gettext answers in the request's language.
    return {
        "display_name": _("Enter your name: up to 200 characters, on one line."),
        "phone": _("Enter a phone number of 8 to 15 digits, or leave it empty."),
        "language": _("Choose English or Spanish."),
        "postal_code": _("Enter a ZIP code such as 94607, or leave it empty."),
    }


def every_consent() -> list[Consent]:
    """Every channel and purpose, in the order the page lists them."""
    return [Consent(channel=channel, purpose=purpose) for channel in CHANNELS for purpose in PURPOSES]


def consent_name(consent: Consent) -> str:
    """How the page names a channel and purpose, in the reader's language."""
    channels = {"email": _("E-mail"), "sms": _("Text message")}
    purposes = {
        "meetings": _("meetings"),
        "surveys": _("surveys"),
        "campaign_news": _("campaign news"),
        "research_demographics": _("research use of my demographics"),
    }
    return f"{channels[consent.channel]}: {purposes[consent.purpose]}"


def chosen_consents(values: list[str]) -> frozenset[Consent] | None:
    """The boxes ticked; None when a value is not a channel and purpose (a forged form)."""
    try:
        return frozenset(parse_consent(value) for value in values)
    except ValueError:
        return None
