"""The console's people pages against the real PostgreSQL: the list (searched by name, e-mail,
ZIP and tag, with role, region, tags and consent), the upload form (every problem in a table
beside the field and nothing written, CSRF, a 303 saying how many), in English and Spanish,
and only for organizers and admins."""

import uuid

import asyncpg
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from tests import test_accounts
from tests.test_accounts import csrf_of
from tests.test_organisations import as_

engagement = test_accounts.engagement
ORGANIZER = as_(f"organizer:{uuid.uuid4()}")


def _upload(token: str | None, data: bytes) -> FormData:
    form = FormData()
    if token is not None:
        form.add_field("csrf", token)
    form.add_field("file", data, filename="people.csv", content_type="text/csv")
    return form


async def _token(client: TestClient) -> str:
    return csrf_of(await (await client.get("/console/people/import", headers=ORGANIZER)).text())


async def test_an_organizer_imports_a_file_and_finds_the_people_in_the_list(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    t = uuid.uuid4().hex[:8]
    region = f"Fruitvale {t}"
    await pools["engagement"].execute("INSERT INTO regions (kind, name) VALUES ('area', $1)", region)
    data = (
        "name,email,zip,region,role,tags,preferred_language\n"
        f"Ana <b>{t}</b>,ana-{t}@example.org,94601,{region},member,tag{t};housing,es\n"
        f"Bo {t},bo-{t}@example.org,,,,,\n"
    ).encode()
    posted = await engagement.post(
        "/console/people/import",
        data=_upload(await _token(engagement), data),
        headers=ORGANIZER,
        allow_redirects=False,
    )
    assert posted.status == 303
    assert posted.headers["Location"] == "/console/people/import?imported=2&skipped=0"
    said = await (await engagement.get(posted.headers["Location"], headers=ORGANIZER)).text()
    assert "Imported 2 people" in said

    for search in (f"ana <b>{t}", f"ANA-{t}@example", f"TAG{t}"):
        listed = await engagement.get("/console/people", params={"q": search}, headers=ORGANIZER)
        html = await listed.text()
        assert listed.status == 200
        assert f"Ana &lt;b&gt;{t}&lt;/b&gt;" in html and f"Bo {t}" not in html  # escaped, and found alone
        assert region in html and "member" in html and f"tag{t}, housing" in html and "Español" in html
        assert "Not given" in html  # imported people are not asked for consent
    by_zip = await (await engagement.get("/console/people", params={"q": "94601"}, headers=ORGANIZER)).text()
    assert f"Ana &lt;b&gt;{t}" in by_zip
    spanish = await engagement.get(
        "/console/people", params={"q": f"bo-{t}", "lang": "es"}, headers=ORGANIZER
    )
    html = await spanish.text()
    assert f"Bo {t}" in html and 'lang="es"' in html and "Personas" in html and "residente" in html


async def test_a_file_with_problems_is_shown_back_row_by_row_and_nothing_is_written(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    t = uuid.uuid4().hex[:8]
    data = f"name,email,role\nAna {t},ana-{t}@example.org,\nBo {t},bo@,boss\n".encode()
    refused = await engagement.post(
        "/console/people/import", data=_upload(await _token(engagement), data), headers=ORGANIZER
    )
    html = await refused.text()
    assert refused.status == 422
    assert "Nothing was imported" in html and 'aria-invalid="true"' in html
    assert "<td>3</td><td>email</td><td>is not an e-mail address</td>" in html
    assert "<td>3</td><td>role</td>" in html
    forged = await engagement.post(
        "/console/people/import", data=_upload("forged", f"name\nCy {t}\n".encode()), headers=ORGANIZER
    )
    assert forged.status == 422 and "expired" in await forged.text()
    missing = await engagement.post(
        "/console/people/import", data={"csrf": await _token(engagement)}, headers=ORGANIZER
    )
    assert missing.status == 422 and "Choose a CSV file" in await missing.text()
    written = await pools["engagement"].fetchval(
        "SELECT count(*) FROM people WHERE display_name LIKE $1", f"% {t}"
    )
    assert written == 0


async def test_only_organizers_and_admins_see_people(engagement: TestClient) -> None:
    lead = as_(f"cop_lead:{uuid.uuid4()}")
    for path in ("/console/people", "/console/people/import"):
        assert (await engagement.get(path, headers=lead)).status == 403
        assert (await engagement.get(path, headers=as_("admin"))).status == 200
        anonymous = await engagement.get(path, allow_redirects=False)
        assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/login")
    posted = await engagement.post("/console/people/import", data=_upload(None, b"name\nX\n"), headers=lead)
    assert posted.status == 403
