"""A delivery's message, from its template per (kind, language, channel): the files under
templates/notices/<language>/<kind>.<channel>.txt, with blocks ``subject`` (e-mail) and
``body``; a language without its own file is written to in English. An e-mail has the text
part and an HTML part made of the same paragraphs (links made links), and for a meeting its
calendar entry; a campaign message carries List-Unsubscribe with the signed one-click link."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_datetime, get_timezone_name
from markupsafe import Markup, escape

from services.notifications import calendar
from services.notifications.contacts import unsubscribe_links
from shared.settings import Settings

_TEMPLATES = Path(__file__).parent.parent / "templates"
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
)
_URL = re.compile(r"https?://[^\s<>\"]+")
# Kinds whose e-mail carries the meeting's calendar entry to a seat holder, and its method.
CALENDAR_METHOD: Mapping[str, calendar.Method] = {
    "registration_confirmed": "REQUEST",
    "registration_promoted": "REQUEST",
    "meeting_updated": "REQUEST",
    "registration_cancelled": "CANCEL",
    "meeting_cancelled": "CANCEL",
}
CAMPAIGN_KINDS = frozenset({"campaign_news"})


@dataclass(frozen=True)
class Notice:
    """A claimed delivery with what its message needs."""

    id: int
    kind: str
    channel: str
    purpose: str
    language: str
    person_id: UUID
    name: str
    address: str
    params: Mapping[str, Any]


def template_for(kind: str, channel: str, language: str) -> jinja2.Template:
    names = [f"notices/{language}/{kind}.{channel}.txt", f"notices/en/{kind}.{channel}.txt"]
    return _ENV.select_template(names)


def _block(template: jinja2.Template, name: str, context: Mapping[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(dict(context)))).strip()


def when(starts_at: str, time_zone: str, language: str) -> str:
    """The start in the meeting's zone, with the zone named: 'Thursday, May 7, 2026, 6:00 PM Pacific Time'."""
    zone = ZoneInfo(time_zone)
    local = datetime.fromisoformat(starts_at).astimezone(zone)
    day = format_datetime(
        local, "EEEE d MMMM y, HH:mm" if language == "es" else "EEEE, MMMM d, y, h:mm a", locale=language
    )
    return f"{day} ({get_timezone_name(zone, 'long', locale=language)})"


def context(notice: Notice, settings: Settings) -> dict[str, Any]:
    params = notice.params
    values: dict[str, Any] = {"name": notice.name, "language": notice.language, **params}
    meeting = params.get("meeting")
    if meeting is not None:
        values.update(
            title=meeting["title"].get(notice.language) or meeting["title"]["en"],
            when=when(meeting["starts_at"], meeting["time_zone"], notice.language),
            venue=meeting.get("venue"),
            step_free=meeting.get("step_free_access", False),
        )
        values.setdefault("join_url", None)
        values.setdefault("recording_url", None)
        values.setdefault("seated", True)
        link_path = params.get("link_path")
        values["manage_link"] = f"{settings.public_base_url}{link_path}" if link_path else None
    if notice.kind in CAMPAIGN_KINDS:
        values["platform"] = f"{settings.public_base_url}/"
        values["unsubscribe"] = unsubscribe_url(notice, settings)
        values["preferences"] = values["unsubscribe"]
    return values


def unsubscribe_url(notice: Notice, settings: Settings) -> str:
    link = unsubscribe_links.LinkFor(
        notice.person_id,
        notice.channel,  # type: ignore[arg-type]  # a delivery's channel and purpose are checked by the table
        notice.purpose,  # type: ignore[arg-type]
    )
    token = unsubscribe_links.token(unsubscribe_links.signing_key(settings), link)
    return f"{settings.public_base_url}/notifications/u/{token}"


def sms_text(notice: Notice, settings: Settings) -> str:
    return _block(template_for(notice.kind, "sms", notice.language), "body", context(notice, settings))


def _linked(line: str) -> Markup:
    """The line escaped, then each address in it made a link."""
    escaped = str(escape(line))
    return Markup(_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))  # noqa: S704


def _html(subject: str, text: str, language: str) -> str:
    paragraphs = [
        Markup("<br>\n").join(_linked(line) for line in block.splitlines())
        for block in re.split(r"\n\s*\n", text)
        if block.strip()
    ]
    return _ENV.get_template("notices/layout.html").render(
        subject=subject, paragraphs=paragraphs, language=language
    )


def email(notice: Notice, settings: Settings) -> EmailMessage:
    values = context(notice, settings)
    template = template_for(notice.kind, "email", notice.language)
    # On one line: a title may hold line breaks, which a header cannot.
    subject = " ".join(_block(template, "subject", values).split())
    text = _block(template, "body", values)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.mail_from
    message["To"] = notice.address
    message["Date"] = formatdate(localtime=False)
    # One Message-ID per delivery row: a copy sent again would be recognisable as the same one.
    message["Message-ID"] = f"<delivery-{notice.id}@civic.invalid>"
    message["Content-Language"] = notice.language
    if notice.kind in CAMPAIGN_KINDS:
        message["List-Unsubscribe"] = f"<{values['unsubscribe']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text + "\n")
    message.add_alternative(_html(subject, text, notice.language), subtype="html")
    method = CALENDAR_METHOD.get(notice.kind)
    if method is not None and values.get("seated", True):
        meeting = notice.params["meeting"]
        entry = calendar.Entry(
            meeting_id=str(meeting["meeting_id"]),
            sequence=int(meeting["sequence"]),
            title=values["title"],
            starts_at=datetime.fromisoformat(meeting["starts_at"]),
            ends_at=datetime.fromisoformat(meeting["ends_at"]),
            time_zone=meeting["time_zone"],
            location=meeting.get("venue") or values.get("join_url"),
            url=values.get("join_url"),
            organizer=settings.mail_from,
            attendee_name=notice.name,
            attendee_email=notice.address,
        )
        message.add_attachment(
            calendar.invite(entry, method),
            maintype="text",
            subtype="calendar",
            params={"method": method},
            filename="invite.ics",
        )
    return message
