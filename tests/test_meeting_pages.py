"""The meetings' pages without JavaScript: the host's form (errors beside the field, what was
typed kept, an expired form 422), check-in ticked on a phone, and a resident registering on the
public page (errors beside the field, Spanish), then changing their needs by their link."""

import uuid

import asyncpg
from aiohttp.test_utils import TestClient

from tests import test_accounts
from tests.test_accounts import csrf_of
from tests.test_campaigns import an_organisation
from tests.test_meetings import JOIN
from tests.test_organisations import as_, unique

engagement = test_accounts.engagement


def the_form(token: str, organisation_id: str, **changes: str) -> dict[str, str]:
    return {
        "csrf": token,
        "host": f"organisation:{organisation_id}",
        "kind": "hybrid",
        "title_en": unique("Northside site hearing"),
        "title_es": "",
        "description_en": "",
        "description_es": "",
        "time_zone": "America/Chicago",
        "starts": "2031-04-02T18:00",
        "ends": "2031-04-02T20:00",
        "venue": "",
        "join_url": JOIN,
        "capacity": "1",
        "recording_url": "",
        "decision_id": "",
        **changes,
    }


async def test_the_host_form_keeps_what_was_typed_beside_the_error_then_saves_and_checks_in(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    page = await engagement.get("/console/meetings/new", headers=organizer)
    assert page.status == 200
    token = csrf_of(await page.text())
    form = the_form(token, organisation_id)
    refused = await engagement.post(
        "/console/meetings/new", data=form, headers=organizer, allow_redirects=False
    )
    assert refused.status == 422
    html = await refused.text()
    assert 'id="venue-error"' in html and 'aria-describedby="venue-error"' in html
    assert f'value="{form["title_en"]}"' in html and 'value="2031-04-02T18:00"' in html
    spanish = await engagement.post("/console/meetings/new?lang=es", data=form, headers=organizer)
    assert "necesita un lugar" in await spanish.text()
    expired = await engagement.post(
        "/console/meetings/new?lang=en",
        data={**form, "csrf": "forged"},
        headers=organizer,
        allow_redirects=False,
    )
    assert expired.status == 422 and "This form had expired" in await expired.text()
    other = the_form(token, str(uuid.uuid4()), venue="Hall")
    assert (await engagement.post("/console/meetings/new", data=other, headers=organizer)).status == 403

    saved = await engagement.post(
        "/console/meetings/new",
        data={**form, "venue": "Northside hall"},
        headers=organizer,
        allow_redirects=False,
    )
    assert saved.status == 303, await saved.text()
    meeting_url = saved.headers["Location"].split("?")[0]
    meeting_id = meeting_url.rsplit("/", 1)[1]

    public = await engagement.get(f"/meetings/{meeting_id}")
    public_token = csrf_of(await public.text())
    typed = {
        "csrf": public_token,
        "display_name": "Rosa",
        "email": "not an address",
        "phone": "",
        "language": "es",
    }
    wrong = await engagement.post(f"/meetings/{meeting_id}", data=typed, allow_redirects=False)
    assert wrong.status == 422
    assert 'id="email-error"' in await wrong.text() and 'value="not an address"' in await wrong.text()
    registered = await engagement.post(
        f"/meetings/{meeting_id}",
        data={**typed, "email": f"{uuid.uuid4().hex}@example.org", "needs": "captions"},
        allow_redirects=False,
    )
    assert registered.status == 303
    link = registered.headers["Location"]
    mine = await engagement.get(link)
    html = await mine.text()
    assert "Tiene plaza" in html or "You have a seat" in html
    assert JOIN in html  # the seat holder's own page shows the join link
    changed = await engagement.post(
        link.split("?")[0], data={"csrf": csrf_of(html), "language": "es", "needs": ["captions", "childcare"]}
    )
    assert changed.status == 200
    registration = await pools["engagement"].fetchrow(
        "SELECT id, needs FROM meeting_registrations WHERE meeting_id = $1", uuid.UUID(meeting_id)
    )
    assert registration["needs"] == ["captions", "childcare"]

    listed = await engagement.get(f"/console/meetings/{meeting_id}/registrations", headers=organizer)
    assert listed.status == 200 and "Rosa" in await listed.text()
    check_in = await engagement.get(f"/console/meetings/{meeting_id}/check-in", headers=organizer)
    ticked = {
        "csrf": csrf_of(await check_in.text()),
        "attended": str(registration["id"]),
        "shown": str(registration["id"]),
    }
    done = await engagement.post(
        f"/console/meetings/{meeting_id}/check-in", data=ticked, headers=organizer, allow_redirects=False
    )
    assert done.status == 303
    attended = await pools["engagement"].fetchval(
        "SELECT attended_at FROM meeting_registrations WHERE id = $1", registration["id"]
    )
    assert attended is not None
    others = as_(f"organizer:{uuid.uuid4()}")
    for path in ("", "/registrations", "/check-in"):
        assert (await engagement.get(f"/console/meetings/{meeting_id}{path}", headers=others)).status == 403
    assert (
        await engagement.post(f"/console/meetings/{meeting_id}/check-in", data=ticked, headers=others)
    ).status == 403
