"""What notifications holds about one person, for the download on their own page (engagement
asks): their contact point (with the consent set it last heard of) and the mail sent or queued
to them, without mails' params (a link's token while it is unsent).

Internal: served on notifications' own loopback port only; nginx routes no /internal/ path."""

from uuid import UUID

from aiohttp import web

from shared.http import POOL

# Only a UUID matches, so parsing it cannot fail.
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def person_export(request: web.Request) -> web.Response:
    person_id = UUID(request.match_info["person_id"])
    pool = request.app[POOL]
    contact_point = await pool.fetchval(
        "SELECT to_jsonb(c) FROM contact_points c WHERE person_id = $1", person_id
    )
    mail = await pool.fetch(
        """SELECT to_jsonb(m) - 'params' - 'person_id' AS mail FROM outgoing_mail m
           WHERE person_id = $1 ORDER BY id""",
        person_id,
    )
    return web.json_response({"contact_point": contact_point, "outgoing_mail": [r["mail"] for r in mail]})


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"/internal/people/{{person_id:{_UUID}}}", person_export)
