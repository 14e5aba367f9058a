"""What surveys holds about one person, for the download on their own page (engagement asks).

Internal: served on surveys' own loopback port only; nginx routes no /internal/ path, so no
client outside this machine reaches it."""

from uuid import UUID

from aiohttp import web

from shared.http import POOL

# Only a UUID matches, so parsing it cannot fail.
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def person_export(request: web.Request) -> web.Response:
    person_id = UUID(request.match_info["person_id"])
    respondent = await request.app[POOL].fetchval(
        "SELECT to_jsonb(r) FROM respondents r WHERE person_id = $1", person_id
    )
    return web.json_response({"respondent": respondent})


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"/internal/people/{{person_id:{_UUID}}}", person_export)
