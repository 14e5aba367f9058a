"""The demo's caught mail: a page listing what the SMTP sink of `make run` received (a Maildir
under .run/mail/), so a person trying the platform can open each notice, its calendar entry
and its links. Guarded by configuration: the routes exist only when ``CIVIC_MAIL_SINK_DIR``
names the sink's folder, which only deploy/run.py sets, for its own demo sink; anywhere else
the paths are 404."""

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from shared.http import SETTINGS

_URL = re.compile(r"https?://[^\s<>\"]+")


def _folder(request: web.Request) -> Path:
    return Path(request.app[SETTINGS].mail_sink_dir)


def _files(folder: Path) -> dict[str, Path]:
    """The caught messages by name, newest first (Maildir's new/ and cur/)."""
    found = [
        p
        for sub in ("new", "cur")
        if (folder / sub).is_dir()
        for p in (folder / sub).iterdir()
        if p.is_file()
    ]
    return {p.name: p for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)}


def _parse(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _message(request: web.Request) -> tuple[str, EmailMessage]:
    name = request.match_info["name"]
    path = _files(_folder(request)).get(name)  # only a name the folder holds: no path from outside
    if path is None:
        raise web.HTTPNotFound()
    return name, _parse(path)


async def caught_mail(request: web.Request) -> web.Response:
    rows = []
    for name, path in list(_files(_folder(request)).items())[:500]:
        message = _parse(path)
        rows.append(
            {"name": name, "subject": message["Subject"], "to": message["To"], "date": message["Date"]}
        )
    return aiohttp_jinja2.render_template("mail_sink.html", request, {"messages": rows})


async def one_message(request: web.Request) -> web.Response:
    name, message = _message(request)
    text = message.get_body(("plain",))
    body = text.get_content() if text is not None else ""
    attachments = [part.get_filename() for part in message.iter_attachments()]
    context: dict[str, Any] = {
        "name": name,
        "headers": [
            (key, message[key])
            for key in ("Subject", "From", "To", "Date", "List-Unsubscribe")
            if message[key]
        ],
        "lines": body.splitlines(),
        "url": _URL,
        "attachments": [a for a in attachments if a],
    }
    return aiohttp_jinja2.render_template("mail_message.html", request, context)


async def attachment(request: web.Request) -> web.Response:
    _, message = _message(request)
    for part in message.iter_attachments():
        if part.get_filename() == request.match_info["filename"]:
            content = part.get_payload(decode=True)
            assert isinstance(content, bytes)
            return web.Response(
                body=content,
                content_type=part.get_content_type(),
                headers={"Content-Disposition": f'attachment; filename="{part.get_filename()}"'},
            )
    raise web.HTTPNotFound()


async def raw(request: web.Request) -> web.Response:
    _, message = _message(request)
    return web.Response(
        body=message.as_bytes(),
        content_type="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="{request.match_info["name"]}.eml"'},
    )


def add_routes(app: web.Application) -> None:
    if not app[SETTINGS].mail_sink_dir:
        return
    app.router.add_get("/notifications/mail/", caught_mail)
    app.router.add_get("/notifications/mail/{name}", one_message)
    app.router.add_get("/notifications/mail/{name}/raw", raw)
    app.router.add_get("/notifications/mail/{name}/files/{filename}", attachment)
