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
    auto_reload=False,  # read once: a sender renders thousands a second
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
# Kinds sent on consent to a purpose, not asked for: each carries its one-click unsubscribe.
UNSUBSCRIBABLE = CAMPAIGN_KINDS | {"decision_outcome", "survey_invitation", "survey_reminder"}


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
    page_path = params.get("page_path") or params.get("secret_path")
    if page_path is not None:
        values["page"] = f"{settings.public_base_url}{page_path}"
    values["meetings"] = [f"{settings.public_base_url}{path}" for path in params.get("meeting_paths", ())]
    if notice.kind in UNSUBSCRIBABLE:
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
    if notice.kind in UNSUBSCRIBABLE:
        message["List-Unsubscribe"] = f"<{values['unsubscribe']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # 8bit: the parts stay as written, so a prototype's placeholders can be found in them (below).
    message.set_content(text + "\n", charset="utf-8", cte="8bit")
    message.add_alternative(
        _html(subject, text, notice.language), subtype="html", charset="utf-8", cte="8bit"
    )
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


# A campaign message is the same for each of thousands of recipients but for their name, address,
# delivery id and unsubscribe link: it is composed once a minute with placeholders, and each
# recipient's bytes are the prototype with theirs put in (the stdlib's e-mail package costs some
# 3 ms a message, most of a sender's time). The HTML part gets the name escaped.
@dataclass(frozen=True)
class Prototype:
    text: bytes  # the headers shared by all and the parts up to the HTML one
    html: bytes  # from the HTML part on

    def render(self, notice: Notice, settings: Settings) -> bytes:
        # Written here, not by the e-mail package: a long header would be folded or encoded,
        # and a placeholder in it not found again.
        headers = (
            f"To: {notice.address}\nMessage-ID: <delivery-{notice.id}@civic.invalid>\n"
            f"List-Unsubscribe: <{unsubscribe_url(notice, settings)}>\n"
        ).encode()
        url = unsubscribe_url(notice, settings).encode()
        name = notice.name.encode()
        text = self.text.replace(_NAME, name).replace(_URL_PLACEHOLDER, url)
        html = self.html.replace(_NAME, str(escape(notice.name)).encode()).replace(_URL_PLACEHOLDER, url)
        return headers + text + html


_NAME = b"zqNAMEqz"
_URL_PLACEHOLDER = b"zqUNSUBSCRIBEqz"


def prototype(notice: Notice, settings: Settings) -> Prototype:
    stand_in = Notice(id=0, kind=notice.kind, channel=notice.channel, purpose=notice.purpose,
                      language=notice.language, person_id=UUID(int=0), name=_NAME.decode(),
                      address="nobody@civic.invalid", params=notice.params)  # fmt: skip
    message = email(stand_in, settings)
    for personal in ("To", "Message-ID", "List-Unsubscribe"):
        del message[personal]
    raw = message.as_bytes().replace(unsubscribe_url(stand_in, settings).encode(), _URL_PLACEHOLDER)
    if raw.count(_URL_PLACEHOLDER) < 2 or b"00000000-0000" in raw:
        raise ValueError("a campaign message's unsubscribe link is not where the prototype expects it")
    split = raw.index(b"Content-Type: text/html")
    return Prototype(raw[:split], raw[split:])


def prototype_key(notice: Notice) -> str | None:
    """What recipients of one prototype share; None for a message composed whole (a meeting's
    carries the attendee in its calendar entry)."""
    if notice.kind not in CAMPAIGN_KINDS:
        return None
    return f"{notice.kind}\0{notice.language}\0{notice.purpose}\0{sorted(notice.params.items())}"
