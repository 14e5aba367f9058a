"""What notifications holds about one person, for the download on their own page (engagement
asks): their contact point (with the consent set it last heard of), the mail sent or queued to
them, each notice's delivery with its kind and state, the meeting registrations it knows of
(with their reminders), the surveys they answered by invitation (not which response) and
their unsubscribes. Never mails' or deliveries' params (a link's
token while it is unsent), a registration's link path (its token) nor a sender's lease.

Internal: served on notifications' own loopback port only; nginx routes no /internal/ path."""

from uuid import UUID

from aiohttp import web

from shared.http import POOL

# Only a UUID matches, so parsing it cannot fail.
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# Each list: a query of rows as JSON, for person $1.
_LISTS = {
    "outgoing_mail": """SELECT to_jsonb(m) - 'params' - 'person_id' FROM outgoing_mail m
                        WHERE person_id = $1 ORDER BY id""",
    "deliveries": """SELECT to_jsonb(d) - 'params' - 'person_id' - 'claim' - 'claimed_until'
                     FROM deliveries d WHERE person_id = $1 ORDER BY id""",
    "notice_registrations": """
        SELECT to_jsonb(r) - 'link_path' - 'person_id' || jsonb_build_object(
                   'meeting', (SELECT m.facts FROM notice_meetings m WHERE m.meeting_id = r.meeting_id),
                   'reminders', (SELECT coalesce(jsonb_agg(to_jsonb(x) - 'registration_id'
                                                          ORDER BY x.due_at), '[]')
                                 FROM reminders x WHERE x.registration_id = r.registration_id))
        FROM notice_registrations r WHERE person_id = $1 ORDER BY registration_id""",
    "survey_participants": """SELECT to_jsonb(p) - 'person_id' FROM survey_participants p
                              WHERE person_id = $1 ORDER BY survey_id""",
    "unsubscribes": """SELECT to_jsonb(u) - 'person_id' FROM unsubscribes u
                       WHERE person_id = $1 ORDER BY unsubscribed_at, channel, purpose""",
}


async def person_export(request: web.Request) -> web.Response:
    person_id = UUID(request.match_info["person_id"])
    pool = request.app[POOL]
    contact_point = await pool.fetchval(
        "SELECT to_jsonb(c) FROM contact_points c WHERE person_id = $1", person_id
    )
    lists = {name: [r[0] for r in await pool.fetch(query, person_id)] for name, query in _LISTS.items()}
    return web.json_response({"contact_point": contact_point, **lists})


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"/internal/people/{{person_id:{_UUID}}}", person_export)
