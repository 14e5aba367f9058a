"""The console's accounts pages and the password page, against the real PostgreSQL through the
engagement app, each request carrying what nginx would pass on for the browser's session: an
admin makes an organizer who then writes their organisation's campaign, a removed role and a
disabled account count from the next request, an admin cannot lock themselves (or, two at
once, each other) out, forms need their token and say what is wrong beside the field, and a
changed password ends the account's other sessions. Also the API operations the pages share,
and the pages on a phone, by keyboard, through nginx."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page

from services.engagement.accounts import api as accounts_api
from services.engagement.accounts import store
from services.engagement.accounts.admins import admin_account, create_admin
from services.engagement.accounts.credentials import hash_password, session_hash
from shared.auth import ACCOUNT_HEADER, ROLES_HEADER, SESSION_CHECK_PATH, SESSION_COOKIE
from shared.settings import Settings
from tests import test_accounts
from tests.support.launcher import serving
from tests.test_accounts import PASSWORD, address, an_admin, as_nginx_would, csrf_of, sign_in
from tests.test_campaigns import an_organisation, draft
from tests.test_organisations import ADMIN, as_, audit_targets, unique
from tests.test_pages_in_browser import browser  # noqa: F401  (the Chromium fixture)

engagement = test_accounts.engagement
_one_window = test_accounts._one_window_for_the_whole_test  # autouse: sign-in limits in one window


def a_client_address() -> str:
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.fixture(autouse=True)
def _a_client_address_of_the_tests_own(engagement: TestClient) -> None:
    """Sign-in attempts are counted per client address too: each test's browsers come from
    addresses of their own (behind nginx, as X-Forwarded-For), so that the run's other sign-ins
    from loopback do not count against them."""
    engagement.session.headers["X-Forwarded-For"] = a_client_address()


@asynccontextmanager
async def another_browser(client: TestClient) -> AsyncIterator[TestClient]:
    """A second browser (its own cookies, its own address) on the same app."""
    second = TestClient(client.server, headers={"X-Forwarded-For": a_client_address()})
    try:
        yield second
    finally:
        await second.session.close()  # not browser.close(): that would stop the shared server


async def get(client: TestClient, path: str) -> ClientResponse:
    return await client.get(path, headers=await as_nginx_would(client), allow_redirects=False)


async def post(client: TestClient, path: str, form: dict[str, str]) -> ClientResponse:
    return await client.post(path, data=form, headers=await as_nginx_would(client), allow_redirects=False)


async def send_form(client: TestClient, page: str, action: str, **fields: str) -> ClientResponse:
    """The form on ``page`` sent to ``action`` with its token and ``fields``."""
    shown = await get(client, page)
    assert shown.status == 200, await shown.text()
    return await post(client, action, {"csrf": csrf_of(await shown.text()), **fields})


def password_on(html: str) -> str:
    found = re.search(r'<code id="password">([^<]+)</code>', html)
    assert found, html
    return found.group(1)


async def id_of(pool: asyncpg.Pool, email: str) -> uuid.UUID:
    account_id: uuid.UUID = await pool.fetchval("SELECT id FROM accounts WHERE email = $1", email)
    return account_id


async def made_on_the_page(
    client: TestClient, pool: asyncpg.Pool, role: str = ""
) -> tuple[uuid.UUID, str, str]:
    """An account the signed-in admin makes on the new account page: its id, address and the
    password the page showed."""
    email = address("organizer")
    created = await send_form(
        client,
        "/console/accounts/new",
        "/console/accounts/new",
        email=email,
        display_name="Olu Organizer",
        role=role,
    )
    assert created.status == 201, await created.text()
    assert created.headers["Cache-Control"] == "no-store"
    return await id_of(pool, email), email, password_on(await created.text())


async def a_signed_in_admin(client: TestClient, pool: asyncpg.Pool) -> uuid.UUID:
    email = await an_admin(pool)
    assert await sign_in(client, email) == 303
    return await id_of(pool, email)


async def test_an_admin_makes_an_organizer_who_writes_their_campaign_until_the_role_is_removed(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    admin_id = await a_signed_in_admin(engagement, pool)
    organisation_id = await an_organisation(engagement)
    name = await pool.fetchval("SELECT name FROM organisations WHERE id = $1", uuid.UUID(organisation_id))
    role = f"organizer:{organisation_id}"
    assert f'value="{role}"' in await (await get(engagement, "/console/accounts/new")).text()

    account_id, email, password = await made_on_the_page(engagement, pool, role)
    assert len(password) >= 12
    assert await audit_targets(pool, str(admin_id)) == [("account.created", f"account:{account_id}")]
    listed = await (await get(engagement, f"/console/accounts?q={email}")).text()
    assert email in listed and f"Organizer of {name}" in listed

    async with another_browser(engagement) as organizer:
        assert await sign_in(organizer, email, password) == 303
        theirs = await as_nginx_would(organizer)
        assert theirs[ROLES_HEADER] == role
        written = await organizer.post("/api/v1/campaigns", json=draft(organisation_id), headers=theirs)
        assert written.status == 201, await written.text()

        removed = await send_form(
            engagement,
            f"/console/accounts/{account_id}",
            f"/console/accounts/{account_id}/roles/remove",
            role=role,
        )
        assert removed.status == 303
        assert removed.headers["Location"] == f"/console/accounts/{account_id}?removed=1"
        # The same session, its very next request: signed in still, with no role, refused.
        theirs = await as_nginx_would(organizer)
        assert theirs[ACCOUNT_HEADER] == str(account_id) and theirs[ROLES_HEADER] == ""
        refused = await organizer.post("/api/v1/campaigns", json=draft(organisation_id), headers=theirs)
        assert refused.status == 403
    assert (await audit_targets(pool, str(admin_id)))[-1] == (
        "account.role_removed",
        f"account:{account_id} role:{role}",
    )
    shown = await (await get(engagement, f"/console/accounts/{account_id}?removed=1")).text()
    assert "Role removed" in shown and "No role" in shown


async def test_a_role_given_on_the_page_counts_from_the_next_request(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    admin_id = await a_signed_in_admin(engagement, pool)
    account_id, email, password = await made_on_the_page(engagement, pool)
    organisation_id = await an_organisation(engagement)
    async with another_browser(engagement) as organizer:
        assert await sign_in(organizer, email, password) == 303
        theirs = await as_nginx_would(organizer)
        assert (
            await organizer.post("/api/v1/campaigns", json=draft(organisation_id), headers=theirs)
        ).status == 403
        given = await send_form(
            engagement,
            f"/console/accounts/{account_id}",
            f"/console/accounts/{account_id}/roles",
            role=f"organizer:{organisation_id}",
        )
        assert given.status == 303 and given.headers["Location"].endswith("?added=1")
        theirs = await as_nginx_would(organizer)
        assert (
            await organizer.post("/api/v1/campaigns", json=draft(organisation_id), headers=theirs)
        ).status == 201
    assert (await audit_targets(pool, str(admin_id)))[-1] == (
        "account.role_granted",
        f"account:{account_id} role:organizer:{organisation_id}",
    )


async def test_disabling_an_account_ends_its_sessions_and_enabling_it_does_not_bring_them_back(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    admin_id = await a_signed_in_admin(engagement, pool)
    account_id, email, password = await made_on_the_page(engagement, pool)
    page = f"/console/accounts/{account_id}"
    async with another_browser(engagement) as organizer:
        assert await sign_in(organizer, email, password) == 303
        assert ACCOUNT_HEADER in await as_nginx_would(organizer)

        disabled = await send_form(engagement, page, f"{page}/disable")
        assert disabled.status == 303
        assert (
            "Account disabled: its sessions have ended."
            in await (await get(engagement, page + "?saved=1")).text()
        )
        assert await as_nginx_would(organizer) == {}
        assert await pool.fetchval("SELECT count(*) FROM sessions WHERE account_id = $1", account_id) == 0
        assert await sign_in(organizer, email, password) == 422

        enabled = await send_form(engagement, page, f"{page}/enable")
        assert enabled.status == 303
        assert await as_nginx_would(organizer) == {}  # the ended session stays ended
        assert await sign_in(organizer, email, password) == 303
    assert [action for action, _ in await audit_targets(pool, str(admin_id))] == [
        "account.created",
        "account.disabled",
        "account.enabled",
    ]


async def test_an_organizer_may_not_use_the_accounts_pages(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    organizer = as_(f"organizer:{uuid.uuid4()}")
    someone = await id_of(pools["engagement"], await an_admin(pools["engagement"]))
    for path in ("/console/accounts", "/console/accounts/new", f"/console/accounts/{someone}"):
        assert (await engagement.get(path, headers=organizer)).status == 403, path
    for path in ("/console/accounts/new", f"/console/accounts/{someone}/disable"):
        assert (await engagement.post(path, data={}, headers=organizer)).status == 403, path
    refused = await engagement.put(
        f"/api/v1/accounts/{someone}/disabled", json={"disabled": True}, headers=organizer
    )
    assert refused.status == 403
    assert not await pools["engagement"].fetchval("SELECT disabled FROM accounts WHERE id = $1", someone)


async def test_a_form_without_its_token_is_refused_and_changes_nothing(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    admin_id = await a_signed_in_admin(engagement, pool)
    account_id, _email, _password = await made_on_the_page(engagement, pool)
    password_hash = await pool.fetchval("SELECT password_hash FROM accounts WHERE id = $1", admin_id)
    email = address("forged")
    for path, form in (
        ("/console/accounts/new", {"email": email, "display_name": "Forged", "role": "admin"}),
        (f"/console/accounts/{account_id}/roles", {"role": "admin", "csrf": "guessed"}),
        (f"/console/accounts/{account_id}/disable", {}),
        (
            "/console/password",
            {"current_password": PASSWORD, "new_password": "x" * 20, "new_password_again": "x" * 20},
        ),
    ):
        refused = await post(engagement, path, form)
        assert refused.status == 422, path
        assert "This form had expired" in await refused.text(), path
    assert await pool.fetchval("SELECT count(*) FROM accounts WHERE email = $1", email) == 0
    row = await store.account(pool, account_id)
    assert row is not None and row["roles"] == [] and not row["disabled"]
    assert [action for action, _ in await audit_targets(pool, str(admin_id))] == ["account.created"]
    assert await pool.fetchval("SELECT password_hash FROM accounts WHERE id = $1", admin_id) == password_hash


async def test_bad_input_is_said_beside_the_field_keeping_what_was_typed(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    await a_signed_in_admin(engagement, pool)
    bad = await send_form(
        engagement,
        "/console/accounts/new",
        "/console/accounts/new",
        email="not an address",
        display_name="Line\nbreak",
        role=f"organizer:{uuid.uuid4()}",  # no such organisation: not one on the list
    )
    assert bad.status == 422
    html = await bad.text()
    for field in ("email", "display_name", "role"):
        assert f'id="{field}-error"' in html and f'aria-describedby="{field}-error"' in html, field
    assert 'value="not an address"' in html
    assert "Enter an e-mail address such as name@example.org." in html

    _account_id, taken, _password = await made_on_the_page(engagement, pool)
    spanish = await send_form(
        engagement,
        "/console/accounts/new?lang=es",
        "/console/accounts/new?lang=es",
        email=taken.upper(),
        display_name="Twice",
        role="admin",
    )
    assert spanish.status == 422
    html = await spanish.text()
    assert "Ya hay una cuenta con este correo electrónico." in html and 'id="email-error"' in html
    assert f'value="{taken.upper()}"' in html and 'value="admin" selected' in html

    account_page = f"/console/accounts/{_account_id}"
    unchosen = await send_form(engagement, account_page, f"{account_page}/roles", role="owner")
    assert unchosen.status == 422
    assert 'id="role-error"' in await unchosen.text()


async def test_a_changed_password_ends_the_other_sessions_and_the_old_one_no_longer_signs_in(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    email = address("plain")
    account_id = uuid.uuid4()
    assert await store.insert_account(pool, account_id, email, "Pat Plain", await hash_password(PASSWORD))
    new = "a new passphrase, long enough"
    async with another_browser(engagement) as elsewhere:
        assert await sign_in(elsewhere, email) == 303
        assert await sign_in(engagement, email) == 303
        console = await (await get(engagement, "/console/")).text()
        assert 'href="/console/password"' in console and 'href="/console/accounts"' not in console
        before = engagement.session.cookie_jar.filter_cookies(engagement.make_url("/"))[SESSION_COOKIE].value

        for fields, field, said in (
            (
                {"current_password": "not it at all", "new_password": new, "new_password_again": new},
                "current_password",
                "This is not your current password.",
            ),
            (
                {"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
                "new_password",
                "Enter a new password of 12 to 1024 characters.",
            ),
            (
                {"current_password": PASSWORD, "new_password": new, "new_password_again": new + "!"},
                "new_password_again",
                "The two new passwords differ",
            ),
        ):
            refused = await send_form(engagement, "/console/password", "/console/password", **fields)
            assert refused.status == 422, field
            html = await refused.text()
            assert f'id="{field}-error"' in html and said in html, field
            assert PASSWORD not in html and new not in html  # a page never sends a password back

        changed = await send_form(
            engagement,
            "/console/password",
            "/console/password",
            current_password=PASSWORD,
            new_password=new,
            new_password_again=new,
        )
        assert changed.status == 303 and changed.headers["Location"] == "/console/password?saved=1"
        after = changed.cookies[SESSION_COOKIE].value
        assert after != before and "HttpOnly" in changed.headers["Set-Cookie"]
        # This browser goes on under its new session id; the old id and the other browser are nobody.
        assert (await as_nginx_would(engagement))[ACCOUNT_HEADER] == str(account_id)
        assert (
            "Your password is changed." in await (await get(engagement, "/console/password?saved=1")).text()
        )
        async with another_browser(engagement) as replaying:
            replay = await replaying.get(SESSION_CHECK_PATH, headers={"Cookie": f"{SESSION_COOKIE}={before}"})
            assert ACCOUNT_HEADER not in replay.headers
        assert await as_nginx_would(elsewhere) == {}
        assert await pool.fetchval(
            "SELECT array_agg(id_hash) FROM sessions WHERE account_id = $1", account_id
        ) == [session_hash(after)]

        assert await sign_in(elsewhere, email, PASSWORD) == 422
        assert await sign_in(elsewhere, email, new) == 303
    assert await audit_targets(pool, str(account_id)) == [
        ("account.password_changed", f"account:{account_id}")
    ]


async def test_password_changes_are_counted_with_the_accounts_sign_in_attempts(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    email = await an_admin(pools["engagement"])
    assert await sign_in(engagement, email) == 303  # one attempt counted
    wrong = {"current_password": "a guess, wrong", "new_password": "x" * 12, "new_password_again": "x" * 12}
    for _ in range(accounts_api.LOGIN_ATTEMPTS_PER_ACCOUNT - 1):
        assert (await send_form(engagement, "/console/password", "/console/password", **wrong)).status == 422
    right = {**wrong, "current_password": PASSWORD}
    limited = await send_form(engagement, "/console/password", "/console/password", **right)
    assert limited.status == 429
    assert 0 < int(limited.headers["Retry-After"]) <= accounts_api.LOGIN_WINDOW_S
    assert "Too many sign-in attempts" in await limited.text()
    engagement.session.cookie_jar.clear()
    assert await sign_in(engagement, email) == 429  # the same count: the sign-in page waits too


async def test_an_admin_cannot_disable_themselves_or_remove_their_own_admin_role(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    admin_id = await a_signed_in_admin(engagement, pool)
    page = f"/console/accounts/{admin_id}"
    shown = await (await get(engagement, page)).text()
    assert f'action="{page}/disable"' not in shown and "This is your own account" in shown

    disabling = await send_form(engagement, page, f"{page}/disable")
    assert disabling.status == 422
    html = await disabling.text()
    assert 'id="status-error"' in html and "You cannot disable your own account" in html
    removing = await send_form(engagement, page + "?lang=es", f"{page}/roles/remove?lang=es", role="admin")
    assert removing.status == 422
    html = await removing.text()
    assert 'id="roles-error"' in html and "No puede quitarse su propia función de administrador" in html

    headers = await as_nginx_would(engagement)
    api = await engagement.put(
        f"/api/v1/accounts/{admin_id}/disabled", json={"disabled": True}, headers=headers
    )
    assert api.status == 409 and api.content_type == "application/problem+json"
    assert (
        await engagement.delete(f"/api/v1/accounts/{admin_id}/roles/admin", headers=headers)
    ).status == 409
    assert (await as_nginx_would(engagement))[ROLES_HEADER] == "admin"
    assert await audit_targets(pool, str(admin_id)) == []


async def test_two_admins_taking_admin_from_each_other_at_once_leave_one(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    first = await a_signed_in_admin(engagement, pool)
    async with another_browser(engagement) as other:
        second = await a_signed_in_admin(other, pool)
        firsts, seconds = await as_nginx_would(engagement), await as_nginx_would(other)
        answers = await asyncio.gather(
            engagement.delete(f"/api/v1/accounts/{second}/roles/admin", headers=firsts),
            other.put(f"/api/v1/accounts/{first}/disabled", json={"disabled": True}, headers=seconds),
        )
    assert sorted(answer.status for answer in answers) == [200, 403]  # the second finds itself no admin
    still = await pool.fetchval(
        """SELECT count(*) FROM accounts a JOIN account_roles r ON r.account_id = a.id
           WHERE a.id = ANY($1) AND r.role = 'admin' AND NOT a.disabled""",
        [first, second],
    )
    assert still == 1


async def test_the_api_lists_accounts_gives_and_removes_roles_and_disables(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    admin_id = await a_signed_in_admin(engagement, pool)
    headers = await as_nginx_would(engagement)
    email = address("lead")
    created = await engagement.post(
        "/api/v1/accounts",
        json={"email": email, "display_name": "Lee Lead", "password": PASSWORD, "roles": []},
        headers=headers,
    )
    assert created.status == 201
    account_id = (await created.json())["id"]
    topic = unique("Housing Justice")
    cop = await engagement.post("/api/v1/cops", json={"topic": topic}, headers=ADMIN)
    assert cop.status == 201
    cop_role = f"cop_lead:{(await cop.json())['id']}"

    roles = f"/api/v1/accounts/{account_id}/roles"
    grant = {"role": "cop_lead", "scope": cop_role.split(":")[1]}
    for _ in range(2):  # the second changes nothing
        given = await engagement.post(roles, json=grant, headers=headers)
        assert given.status == 200 and (await given.json())["roles"] == [cop_role]
    unknown = await engagement.post(
        roles, json={"role": "organizer", "scope": str(uuid.uuid4())}, headers=headers
    )
    assert unknown.status == 422 and (await unknown.json())["errors"][0]["field"] == "scope"
    nobody = await engagement.post(f"/api/v1/accounts/{uuid.uuid4()}/roles", json=grant, headers=headers)
    assert nobody.status == 404

    listed = await (await engagement.get("/api/v1/accounts", params={"q": email}, headers=headers)).json()
    assert [item["names"] for item in listed["items"]] == [{cop_role: topic}]
    assert listed["pages"] == 1

    removed = await engagement.delete(f"{roles}/{cop_role}", headers=headers)
    assert removed.status == 200 and (await removed.json())["roles"] == []
    assert (await engagement.delete(f"{roles}/{cop_role}", headers=headers)).status == 404
    assert (await engagement.delete(f"{roles}/owner", headers=headers)).status == 404

    disabled = await engagement.put(
        f"/api/v1/accounts/{account_id}/disabled", json={"disabled": True}, headers=headers
    )
    assert disabled.status == 200 and (await disabled.json())["disabled"] is True
    assert await audit_targets(pool, str(admin_id)) == [
        ("account.created", f"account:{account_id}"),
        ("account.role_granted", f"account:{account_id} role:{cop_role}"),
        ("account.role_removed", f"account:{account_id} role:{cop_role}"),
        ("account.disabled", f"account:{account_id}"),
    ]


async def test_the_console_links_admins_to_the_accounts_and_the_list_searches_in_both_languages(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    await a_signed_in_admin(engagement, pool)
    console = await (await get(engagement, "/console/")).text()
    assert 'href="/console/accounts"' in console and 'href="/console/password"' in console
    _account_id, email, _password = await made_on_the_page(engagement, pool, "admin")
    found = await (await get(engagement, f"/console/accounts?q={email[:14]}&lang=es")).text()
    assert "Cuentas" in found and email in found and "Administrador" in found
    none = await (await get(engagement, f"/console/accounts?q=nobody-{uuid.uuid4().hex}&lang=en")).text()
    assert "None found." in none


async def fits(page: Page) -> bool:
    """Nothing wider than the phone's screen."""
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


# The sign-in page's labels: the address, the password, the button.
ENGLISH = ("E-mail address", "Password", "Sign in")
SPANISH = ("Correo electrónico", "Contraseña", "Iniciar sesión")


async def signing_in_on(
    page: Page, url: str, email: str, password: str, labels: tuple[str, str, str]
) -> None:
    await page.goto(url)
    await page.get_by_label(labels[0]).fill(email)
    await page.get_by_label(labels[1]).fill(password)
    await page.get_by_role("button", name=labels[2]).click()


async def change_in_spanish(page: Page, current: str, new: str) -> None:
    await page.get_by_label("Contraseña actual").fill(current)
    await page.get_by_label("Contraseña nueva", exact=True).fill(new)
    await page.get_by_label("La contraseña nueva otra vez").fill(new)
    await page.get_by_role("button", name="Cambiar la contraseña").click()


@pytest.mark.e2e
async def test_on_a_phone_by_keyboard_an_admin_makes_an_account_whose_owner_changes_its_password(
    browser: Browser,  # noqa: F811
    run_settings: Settings,
    tmp_path: Path,
) -> None:
    email, organizer = address(), address("organizer")

    async def an_admin_to_start(conn: asyncpg.Connection) -> None:
        await create_admin(conn, admin_account(email, "Ada Admin", PASSWORD))

    async with serving(run_settings, tmp_path, an_admin_to_start) as site:
        phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
        admins = await browser.new_context(**phone)
        page = await admins.new_page()
        await signing_in_on(page, f"{site}/login", email, PASSWORD, ENGLISH)
        await page.wait_for_url(f"{site}/console/")
        await page.get_by_role("link", name="Accounts").click()
        await page.wait_for_url(f"{site}/console/accounts")
        assert await fits(page)
        await page.get_by_role("link", name="New account").click()

        # By keyboard alone: the address, Tab, the name, Tab past the role (none yet), Tab, Enter.
        await page.get_by_label("E-mail address").focus()
        await page.keyboard.type(organizer)
        await page.keyboard.press("Tab")
        await page.keyboard.type("Olu Organizer")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == "Create the account"
        await page.keyboard.press("Enter")
        await page.wait_for_load_state()
        assert await page.locator("main h1").inner_text() == "Account created"
        password = await page.locator("#password").inner_text()
        assert await fits(page)

        await page.get_by_role("link", name="The account's roles").click()
        await page.get_by_label("Role").select_option("admin")
        await page.get_by_role("button", name="Give the role").click()
        assert "Role given" in await page.get_by_role("status").inner_text()
        assert await page.get_by_role("button", name="Remove the role Admin").is_visible()
        assert await fits(page)
        await admins.close()

        theirs = await browser.new_context(**phone)
        page = await theirs.new_page()
        await signing_in_on(
            page, f"{site}/login?next=/console/password&lang=es", organizer, password, SPANISH
        )
        await page.wait_for_url(f"{site}/console/password")
        assert await page.locator("main h1").inner_text() == "Cambiar su contraseña"
        await change_in_spanish(page, password, "short")
        assert await page.locator("#new_password-error").is_visible()
        assert await fits(page)
        await change_in_spanish(page, password, "a passphrase of my own")
        await page.wait_for_url(f"{site}/console/password?saved=1")
        assert "Su contraseña ha cambiado." in await page.get_by_role("status").inner_text()
        await theirs.close()
