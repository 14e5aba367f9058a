"""The text of a survey invitation's mail, in the invitee's language: a jinja2 text template
(templates/survey_invitation.txt, not HTML-escaped: it is a text/plain part) with the link, the
platform's public address and the survey's path with the invitation's token (and the
invitee's language)."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import jinja2
from babel.dates import format_datetime

from shared.settings import Settings

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=False,  # noqa: S701 - a text/plain mail, never a page
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
)


def compose(
    row: asyncpg.Record, settings: Settings, _: Callable[[str], str], language: str
) -> tuple[str, str]:
    """The subject and body for a claimed ``survey_invitation`` row."""
    params = row["params"]
    closes_at = params.get("closes_at")
    body = _TEMPLATES.get_template("survey_invitation.txt").render(
        _=_,
        name=row["display_name"] or "",
        title=params["title"],
        # In the invitee's language from the first page on, whatever their browser asks for.
        link=f"{settings.public_base_url}{params['link_path']}&{urlencode({'lang': language})}",
        closes=None
        if closes_at is None
        else format_datetime(datetime.fromisoformat(closes_at), "long", locale=language),
        own_page=f"{settings.public_base_url}/me",
    )
    # On one line: a title may hold line breaks, which a header cannot.
    subject = _("Your invitation to answer a survey: %(title)s") % {
        "title": " ".join(params["title"].split())
    }
    return subject, body.strip()
