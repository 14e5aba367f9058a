"""A resident leaves a Community of Practice from their own page: only their own membership goes,
with an audit entry naming them in the same transaction; the lead's console no longer lists
them. A forged form, a CoP they are not in and no session change nothing.

Against the real PostgreSQL, the resident signed in as the resident page's tests do it."""

import uuid

import asyncpg
from aiohttp.test_utils import TestClient

from services.engagement.residents import tokens
from tests.test_organisations import a_person, as_, unique
from tests.test_people_registration import _csrf, address
from tests.test_resident_page import engagement, platform_settings, resident_settings, signed_in, smtp

__all__ = ["engagement", "platform_settings", "resident_settings", "smtp"]  # the resident page's fixtures


async def a_cop(pool: asyncpg.Pool) -> tuple[uuid.UUID, str]:
    """A CoP as the console leaves one (its own tests cover making it); its id and topic."""
    cop_id, topic = uuid.uuid4(), unique("Tenant Rights")
    await pool.execute("INSERT INTO cops (id, topic) VALUES ($1, $2)", cop_id, topic)
    return cop_id, topic


async def a_member(pool: asyncpg.Pool, cop_id: uuid.UUID, person_id: uuid.UUID) -> uuid.UUID:
    member_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO cop_members (id, cop_id, person_id) VALUES ($1, $2, $3)", member_id, cop_id, person_id
    )
    return member_id


async def another_member(pool: asyncpg.Pool, cop_id: uuid.UUID) -> uuid.UUID:
    """Someone else in the CoP: their membership's id."""
    person_id = uuid.uuid4()
    await a_person(pool, person_id, unique("Luz"), address("luz"))
    return await a_member(pool, cop_id, person_id)


async def members_of(pool: asyncpg.Pool, cop_id: uuid.UUID) -> set[uuid.UUID]:
    return {r["id"] for r in await pool.fetch("SELECT id FROM cop_members WHERE cop_id = $1", cop_id)}


async def audit_of(pool: asyncpg.Pool, person_id: uuid.UUID) -> list[tuple[object, ...]]:
    rows = await pool.fetch(
        "SELECT roles, action, target, service FROM audit_log WHERE account_id = $1 ORDER BY id", person_id
    )
    return [tuple(row) for row in rows]


async def test_a_member_sees_their_cops_and_requests_and_leaves_one(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    person_id, email, csrf = await signed_in(engagement, pool)
    cop_id, topic = await a_cop(pool)
    asked_id, asked_topic = await a_cop(pool)
    mine = await a_member(pool, cop_id, person_id)
    theirs = await another_member(pool, cop_id)
    await pool.execute(
        "INSERT INTO cop_join_requests (id, cop_id, name, email) VALUES ($1, $2, 'Ana', $3)",
        uuid.uuid4(),
        asked_id,
        email.upper(),  # a request is theirs by address, whatever its case
    )

    html = await (await engagement.get("/me")).text()
    assert f'<a href="/cops/{cop_id}/join">{topic}</a>' in html
    assert f'action="/me/cops/{cop_id}/leave"' in html and f'aria-label="Leave {topic}"' in html
    assert f'<a href="/cops/{asked_id}/join">{asked_topic}</a>' in html  # waiting on the lead
    assert f"/me/cops/{asked_id}/leave" not in html  # nothing to leave yet

    left = await engagement.post(f"/me/cops/{cop_id}/leave", data={"csrf": csrf}, allow_redirects=False)
    assert (left.status, left.headers["Location"]) == (303, f"/me?left={cop_id}")
    assert await members_of(pool, cop_id) == {theirs}
    assert await audit_of(pool, person_id) == [
        (["person"], "cop.member_left", f"cop:{cop_id} member:{mine}", "engagement")
    ]
    after = await (await engagement.get(left.headers["Location"])).text()
    assert f"You have left {topic}." in after and f"/me/cops/{cop_id}/leave" not in after
    spanish = await (await engagement.get(f"/me?left={cop_id}&lang=es")).text()
    assert f"Ha dejado {topic}." in spanish and "Sus Comunidades de Práctica" in spanish

    console = await engagement.get(f"/console/cops/{cop_id}", headers=as_(f"cop_lead:{cop_id}"))
    listed = await console.text()
    assert console.status == 200
    assert f"/members/{theirs}/remove" in listed and f"/members/{mine}/remove" not in listed


async def test_a_forged_form_is_refused_as_expired_and_changes_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    person_id, _, _ = await signed_in(engagement, pool)
    cop_id, _ = await a_cop(pool)
    mine = await a_member(pool, cop_id, person_id)
    forged = await engagement.post(f"/me/cops/{cop_id}/leave", data={"csrf": "guessed"})
    html = await forged.text()
    assert forged.status == 403
    assert '<p role="alert" class="bad" id="form-error">This form had expired. Send it again.</p>' in html
    assert await members_of(pool, cop_id) == {mine}
    assert await audit_of(pool, person_id) == []


async def test_leaving_a_cop_one_is_not_in_says_so_and_changes_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    person_id, _, csrf = await signed_in(engagement, pool)
    cop_id, topic = await a_cop(pool)
    theirs = await another_member(pool, cop_id)
    # Their CoP, a CoP that is not, someone else's membership id in its place, no id at all.
    for named in (cop_id, uuid.uuid4(), theirs, "not-an-id"):
        path = f"/me/cops/{named}/leave"
        refused = await engagement.post(path, data={"csrf": csrf}, allow_redirects=False)
        assert (refused.status, refused.headers["Location"]) == (303, "/me?left=not-a-member"), named
    assert await members_of(pool, cop_id) == {theirs}
    assert await audit_of(pool, person_id) == []
    page = await engagement.get("/me?left=not-a-member")
    html = await page.text()
    assert page.status == 200
    assert "You are not a member of that Community of Practice: nothing changed." in html
    assert "You are not a member of any Community of Practice." in html
    # A made-up link cannot say they left a CoP they are still in.
    await a_member(pool, cop_id, person_id)
    assert "You have left" not in await (await engagement.get(f"/me?left={cop_id}")).text()
    assert topic in await (await engagement.get(f"/me?left={cop_id}")).text()


async def test_without_a_session_leaving_sends_you_to_ask_for_a_link(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    cop_id, _ = await a_cop(pool)
    theirs = await another_member(pool, cop_id)
    csrf = _csrf(await (await engagement.get("/me")).text())
    for cookies in ({}, {tokens.SESSION_COOKIE: tokens.new_secret()}):
        engagement.session.cookie_jar.update_cookies(cookies)
        response = await engagement.post(
            f"/me/cops/{cop_id}/leave", data={"csrf": csrf}, allow_redirects=False
        )
        assert (response.status, response.headers["Location"]) == (303, "/me")
    assert await members_of(pool, cop_id) == {theirs}
