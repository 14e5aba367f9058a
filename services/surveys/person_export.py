"""What surveys holds about one person, for the download on their own page (engagement asks):
their pseudonymous respondent row, their invitations (never the links' token hashes), the drafts
begun from those links, and the responses that name them (confidential and identified surveys'
invited responses: an anonymous response names nobody, so it is nobody's to download).

Internal: served on surveys' own loopback port only; nginx routes no /internal/ path, so no
client outside this machine reaches it."""

from uuid import UUID

from aiohttp import web

from shared.http import POOL

# Only a UUID matches, so parsing it cannot fail.
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def person_export(request: web.Request) -> web.Response:
    person_id = UUID(request.match_info["person_id"])
    pool = request.app[POOL]
    respondent = await pool.fetchval("SELECT to_jsonb(r) FROM respondents r WHERE person_id = $1", person_id)
    invitations = await pool.fetch(
        """SELECT to_jsonb(i) - 'token_hash' - 'person_id' || jsonb_build_object('survey_slug', s.slug)
                  AS row
           FROM invitations i JOIN surveys s ON s.id = i.survey_id
           WHERE i.person_id = $1 ORDER BY i.issued_at, i.id""",
        person_id,
    )
    drafts = await pool.fetch(
        """SELECT to_jsonb(d) - 'token_hash' - 'key' AS row
           FROM drafts d JOIN invitations i ON i.token_hash = d.token_hash
           WHERE i.person_id = $1 ORDER BY d.updated_at, d.survey_id""",
        person_id,
    )
    responses = await pool.fetch(
        """SELECT to_jsonb(r) - 'person_id' || jsonb_build_object('survey_slug', s.slug) AS row
           FROM responses r JOIN surveys s ON s.id = r.survey_id
           WHERE r.person_id = $1 ORDER BY r.submitted_at, r.id""",
        person_id,
    )
    return web.json_response(
        {
            "respondent": respondent,
            "invitations": [r["row"] for r in invitations],
            "drafts": [r["row"] for r in drafts],
            "responses": [r["row"] for r in responses],
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"/internal/people/{{person_id:{_UUID}}}", person_export)
