"""Invitations end to end, against the real PostgreSQL, RabbitMQ and SMTP (an in-process
aiosmtpd): a launched campaign's audience invited once to each linked survey that takes
invitations, however often its parts arrive; tokens kept only hashed; invitation.issued without
contact data; the link mailed only on consent to e-mail about surveys, in the person's language;
invitations on demand through the API and the console, for the survey's organisation only; and
erasure."""

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.notifications.deliveries import sender
from services.notifications.survey_notices import INVITATIONS
from services.surveys.handlers import on_person_erased
from services.surveys.invitations import issuing
from services.surveys.invitations.handlers import CAMPAIGNS
from shared.bus import Bus
from shared.consumer import Consumer
from shared.contracts import AudienceMember, Envelope, PersonErased
from shared.outbox import OutboxRelay
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support import surveys as support
from tests.support.surveys import branching_document, surveys
from tests.support.waiting import eventually
from tests.test_accounts import csrf_of
from tests.test_campaigns import a_zip, an_organisation
from tests.test_organisations import as_
from tests.test_people_registration import Mailbox, Start, engagement, platform_settings, smtp

__all__ = ["engagement", "platform_settings", "smtp", "surveys"]  # fixtures

_LINK = re.compile(
    r"http://civic\.test(/surveys/s/([a-z0-9-]+)\?invitation=([A-Za-z0-9_-]{32,128})&lang=[a-z]+)"
)
CONTACT_DATA = ("email", "phone", "display_name", "postal_code", "name")


@pytest.fixture
async def flowing(
    platform_settings: Settings, bus: Bus, pools: dict[str, asyncpg.Pool], background: Start
) -> None:
    """Engagement's and surveys' relays, surveys' and notifications' invitation consumers and
    notifications' senders of deliveries, as their roles run them."""
    await declare_topology(bus, [CAMPAIGNS, INVITATIONS])
    for schema in ("engagement", "surveys"):
        background(OutboxRelay(pools[schema], bus, schema, platform_settings).run())
    background(Consumer(bus, pools["surveys"], CAMPAIGNS, platform_settings).run())
    background(Consumer(bus, pools["notifications"], INVITATIONS, platform_settings).run())
    background(sender.send_notices(pools["notifications"], platform_settings))


async def a_survey(pool: asyncpg.Pool, **fields: Any) -> asyncpg.Record:
    """tests.support.surveys.a_survey, its document stored as a JSON object, as building stores
    it (the support passes a JSON text through the pool's jsonb codec, which keeps a string)."""
    survey = await support.a_survey(pool, **fields)
    await pool.execute(
        "UPDATE survey_versions SET document = $2::text::jsonb WHERE survey_id = $1",
        survey["id"],
        json.dumps(branching_document()),
    )
    return survey


async def a_resident(
    pools: dict[str, asyncpg.Pool], zip_code: str, language: str, *, consents: tuple[str, ...] = ()
) -> uuid.UUID:
    """A person in engagement, known to surveys, and to notifications with ``consents``
    ("email:surveys"), as their events would have left them."""
    person_id = uuid.uuid4()
    await pools["engagement"].execute(
        """INSERT INTO people (id, display_name, email, language, postal_code, consent_to_contact,
                               consent_confirmed_at)
           VALUES ($1, 'Ana', $2, $3, $4, true, now())""",
        person_id,
        f"{person_id}@example.org",
        language,
        zip_code,
    )
    await pools["surveys"].execute(
        """INSERT INTO respondents (person_id, language, postal_code, registered_at)
           VALUES ($1, $2, $3, now())""",
        person_id,
        language,
        zip_code,
    )
    await pools["notifications"].execute(
        """INSERT INTO contact_points (person_id, display_name, email, language, consent_requested,
                                       consent_confirmed_at, consents)
           VALUES ($1, 'Ana', $2, $3, true, now(), $4)""",
        person_id,
        f"{person_id}@example.org",
        language,
        list(consents),
    )
    return person_id


async def invitations_of(pool: asyncpg.Pool, survey_id: uuid.UUID) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM invitations WHERE survey_id = $1 ORDER BY person_id", survey_id)


async def mails_to(pool: asyncpg.Pool, people: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT person_id, state AS status, reason AS not_sent_because, params FROM deliveries
           WHERE kind = 'survey_invitation' AND person_id = ANY($1::uuid[]) ORDER BY id""",
        people,
    )


async def every_row_of(pool: asyncpg.Pool, schema: str, *, leaving_out: tuple[str, ...] = ()) -> str:
    tables = await pool.fetch(
        """SELECT table_name FROM information_schema.tables
           WHERE table_schema = $1 AND table_type = 'BASE TABLE'""",
        schema,
    )
    texts = []
    for table in tables:
        if table["table_name"] not in leaving_out:
            texts += [
                r["t"]
                for r in await pool.fetch(f'SELECT t::text AS t FROM {schema}."{table["table_name"]}" t')
            ]
    return "\n".join(texts)


async def launched(
    engagement: TestClient, organisation_id: str, survey_ids: list[uuid.UUID], zip_code: str
) -> str:
    organizer = as_(f"organizer:{organisation_id}")
    draft = {
        "organisation_id": organisation_id,
        "title": "Manufacturing the Dream outreach",
        "audience": {"zip_codes": [zip_code]},
        "survey_ids": [str(s) for s in survey_ids],
    }
    created = await engagement.post("/api/v1/campaigns", json=draft, headers=organizer)
    assert created.status == 201, await created.text()
    campaign_id = str((await created.json())["id"])
    launch = await engagement.post(f"/api/v1/campaigns/{campaign_id}/launch", headers=organizer)
    assert launch.status == 200, await launch.text()
    return campaign_id


async def test_a_launch_invites_its_audience_once_and_mails_the_link_only_on_consent(
    engagement: TestClient,
    surveys: TestClient,
    pools: dict[str, asyncpg.Pool],
    bus: Bus,
    flowing: None,
    smtp: tuple[Mailbox, int],
) -> None:
    mailbox, _ = smtp
    organisation_id = await an_organisation(engagement)
    organisation = uuid.UUID(organisation_id)
    zip_code = a_zip()
    english = await a_resident(pools, zip_code, "en", consents=("email:surveys",))
    spanish = await a_resident(pools, zip_code, "es", consents=("email:surveys", "email:meetings"))
    meetings_only = await a_resident(pools, zip_code, "en", consents=("email:meetings",))
    audience = [english, spanish, meetings_only]
    invited = await a_survey(pools["surveys"], access="invited", organisation_id=organisation)
    public = await a_survey(pools["surveys"], access="public", organisation_id=organisation)
    draft = await a_survey(pools["surveys"], access="both", status="draft", organisation_id=organisation)
    someone_elses = await a_survey(pools["surveys"], access="invited")
    linked = [invited["id"], public["id"], draft["id"], someone_elses["id"], uuid.uuid4()]

    campaign_id = await launched(engagement, organisation_id, linked, zip_code)

    listed = await pools["engagement"].fetch(
        """SELECT payload FROM outbox WHERE routing_key = 'campaign.audience_listed'
           AND payload -> 'data' ->> 'campaign_id' = $1""",
        campaign_id,
    )
    [part] = [r["payload"] for r in listed]
    assert part["data"]["part"] == part["data"]["parts"] == 1
    assert sorted(m["person_id"] for m in part["data"]["members"]) == sorted(str(p) for p in audience)
    assert all(set(m) == {"person_id", "language"} for m in part["data"]["members"])

    mails = await eventually(lambda: mails_to(pools["notifications"], audience), lambda rows: len(rows) == 3)
    rows = await invitations_of(pools["surveys"], invited["id"])
    assert sorted(r["person_id"] for r in rows) == sorted(audience)
    assert all(str(r["campaign_id"]) == campaign_id and not r["used"] for r in rows)
    for other in (public, draft, someone_elses):
        assert await invitations_of(pools["surveys"], other["id"]) == []

    by_person = {m["person_id"]: m for m in mails}
    assert by_person[meetings_only]["status"] == "suppressed"
    assert by_person[meetings_only]["not_sent_because"] == "no_consent"
    assert "secret_path" not in by_person[meetings_only]["params"]  # no way in is kept for it

    await eventually(
        lambda: mails_to(pools["notifications"], [english, spanish]),
        lambda rows: [r["status"] for r in rows] == ["sent", "sent"],
    )
    assert mailbox.to(f"{meetings_only}@example.org") == []
    tokens = {}
    for person, title, subject in [
        (english, "Manufacturing the Dream", "Your invitation"),
        (spanish, "Manufacturando el Sueño", "Su invitación"),
    ]:
        [message] = mailbox.to(f"{person}@example.org")
        assert message["Subject"].startswith(subject) and title in message["Subject"]
        body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        found = _LINK.search(body)
        assert found is not None, body
        path, slug, token = found.groups()
        assert slug == invited["slug"]
        opened = await surveys.get(path)
        assert opened.status == 200 and title in await opened.text()
        [row] = [r for r in rows if r["person_id"] == person]
        assert bytes(row["token_hash"]) == hashlib.sha256(token.encode()).digest()
        tokens[person] = token
    forged = await surveys.get(f"/surveys/s/{invited['slug']}?invitation={'A' * 43}")
    assert forged.status == 403

    # The tokens are nowhere in surveys' tables but the outbox, whose published rows go after
    # their retention (shared/retention.py), nor in notifications' once sent.
    kept = await every_row_of(pools["surveys"], "surveys", leaving_out=("outbox",))
    assert not any(token in kept for token in tokens.values())
    mailed = await every_row_of(pools["notifications"], "notifications")
    assert not any(token in mailed for token in tokens.values())

    issued = await pools["surveys"].fetch(
        """SELECT payload FROM outbox WHERE routing_key = 'invitation.issued'
           AND payload -> 'data' ->> 'survey_id' = $1""",
        str(invited["id"]),
    )
    assert len(issued) == 3
    for event in issued:
        assert event["payload"]["aggregate"] == f"person:{event['payload']['data']['person_id']}"
        assert not set(CONTACT_DATA) & set(event["payload"]["data"])
        assert "@" not in str(event["payload"]["data"])

    # The part delivered again (the same message: the inbox) and listed again (another event of
    # the same people), and an invitation.issued delivered again: nothing more is issued or sent.
    # A part of one newcomer follows them, so once they are mailed the repeats were handled.
    envelope = Envelope.model_validate(part)
    again = envelope.model_copy(update={"id": uuid.uuid4()})
    newcomer = await a_resident(pools, zip_code, "en", consents=("email:surveys",))
    newcomer_part = again.model_copy(
        update={
            "id": uuid.uuid4(),
            "data": {**part["data"], "members": [{"person_id": str(newcomer), "language": "en"}]},
        }
    )
    redelivered_invitation = Envelope.model_validate(issued[0]["payload"])
    for message in (envelope, again):
        await bus.publish(message.type, message.model_dump_json().encode(), message_id=str(message.id))
    await bus.publish(
        redelivered_invitation.type,
        redelivered_invitation.model_dump_json().encode(),
        message_id=str(redelivered_invitation.id),
    )
    await bus.publish(
        newcomer_part.type, newcomer_part.model_dump_json().encode(), message_id=str(newcomer_part.id)
    )
    await eventually(
        lambda: mails_to(pools["notifications"], [newcomer]),
        lambda rows: [r["status"] for r in rows] == ["sent"],
    )
    assert len(await invitations_of(pools["surveys"], invited["id"])) == 4
    assert len(await mails_to(pools["notifications"], audience)) == 3
    assert [len(mailbox.to(f"{p}@example.org")) for p in (english, spanish)] == [1, 1]


async def test_organizers_invite_on_demand_through_the_api_for_their_own_surveys_only(
    surveys: TestClient,
    pools: dict[str, asyncpg.Pool],
) -> None:
    organisation = uuid.uuid4()
    organizer = as_(f"organizer:{organisation}")
    survey = await a_survey(pools["surveys"], access="both", organisation_id=organisation)
    zip_code = a_zip()
    known = [await a_resident(pools, zip_code, language) for language in ("en", "es")]
    unknown = uuid.uuid4()
    path = f"/api/v1/surveys/{survey['id']}/invitations"
    body = {"person_ids": [str(known[0]), str(known[1]), str(unknown), str(known[0])]}

    first = await surveys.post(path, json=body, headers=organizer)
    assert first.status == 200, await first.text()
    assert await first.json() == {"issued": 2, "already_invited": 0, "not_known": 1}
    again = await surveys.post(path, json={"person_ids": [str(known[1])]}, headers=organizer)
    assert await again.json() == {"issued": 0, "already_invited": 1, "not_known": 0}
    rows = await invitations_of(pools["surveys"], survey["id"])
    assert sorted(r["person_id"] for r in rows) == sorted(known)
    assert {r["person_id"]: r["language"] for r in rows} == {known[0]: "en", known[1]: "es"}
    assert all(r["campaign_id"] is None for r in rows)
    events = await pools["surveys"].fetch(
        """SELECT payload FROM outbox WHERE routing_key = 'invitation.issued'
           AND payload -> 'data' ->> 'survey_id' = $1""",
        str(survey["id"]),
    )
    assert sorted(e["payload"]["data"]["person_id"] for e in events) == sorted(str(p) for p in known)
    titles = {e["payload"]["data"]["language"]: e["payload"]["data"]["title"] for e in events}
    assert titles == {"en": "Manufacturing the Dream", "es": "Manufacturando el Sueño"}

    refused = [
        (await surveys.post(path, json=body, headers=as_(f"organizer:{uuid.uuid4()}")), 403),
        (await surveys.post(path, json=body), 401),
        (
            await surveys.post(f"/api/v1/surveys/{uuid.uuid4()}/invitations", json=body, headers=organizer),
            404,
        ),
        (await surveys.post("/api/v1/surveys/not-a-uuid/invitations", json=body, headers=organizer), 404),
        (await surveys.post(path, json={"person_ids": []}, headers=organizer), 422),
        (await surveys.post(path, json={"person_ids": ["x"]}, headers=organizer), 422),
        (await surveys.post(path, data=b"[", headers={**organizer, "Content-Type": "application/json"}), 400),
    ]
    for response, status in refused:
        assert response.status == status, await response.text()
        assert response.content_type == "application/problem+json"
    for access, status in [("public", "open"), ("invited", "draft"), ("invited", "closed")]:
        closed = await a_survey(pools["surveys"], access=access, status=status, organisation_id=organisation)
        answer = await surveys.post(
            f"/api/v1/surveys/{closed['id']}/invitations", json=body, headers=organizer
        )
        assert answer.status == 409, (access, status)
        assert await invitations_of(pools["surveys"], closed["id"]) == []
    assert len(await invitations_of(pools["surveys"], survey["id"])) == 2


async def test_the_console_invites_pasted_ids_says_so_and_refuses_beside_the_field(
    surveys: TestClient,
    pools: dict[str, asyncpg.Pool],
) -> None:
    organisation = uuid.uuid4()
    organizer = as_(f"organizer:{organisation}")
    survey = await a_survey(pools["surveys"], access="invited", organisation_id=organisation)
    person = await a_resident(pools, a_zip(), "es")
    page_path = f"/surveys/console/{survey['id']}/invitations"

    page = await surveys.get(page_path, headers=organizer)
    assert page.status == 200
    html = await page.text()
    assert '<label for="person_ids">' in html and 'aria-describedby="person_ids-help"' in html
    csrf = csrf_of(html)

    typed = f"{person}\nnot an id"
    refused = await surveys.post(page_path, data={"csrf": csrf, "person_ids": typed}, headers=organizer)
    assert refused.status == 422
    html = await refused.text()
    assert 'id="person_ids-error"' in html and "2" in html and 'aria-invalid="true"' in html
    assert f"{person}\nnot an id</textarea>" in html  # what was typed, kept
    expired = await surveys.post(
        page_path, data={"csrf": "forged", "person_ids": str(person)}, headers=organizer
    )
    assert expired.status == 422 and 'id="form-error"' in await expired.text()
    assert await invitations_of(pools["surveys"], survey["id"]) == []

    other = await surveys.get(page_path, headers=as_(f"organizer:{uuid.uuid4()}"))
    assert other.status == 403
    forbidden = await surveys.post(
        page_path, data={"csrf": csrf, "person_ids": str(person)}, headers=as_(f"organizer:{uuid.uuid4()}")
    )
    assert forbidden.status == 403
    assert await invitations_of(pools["surveys"], survey["id"]) == []

    sent = await surveys.post(
        page_path,
        data={"csrf": csrf, "person_ids": f"{person}\n{uuid.uuid4()}\n"},
        headers=organizer,
        allow_redirects=False,
    )
    assert sent.status == 303
    assert sent.headers["Location"] == f"{page_path}?issued=1&already_invited=0&not_known=1"
    done = await surveys.get(sent.headers["Location"] + "&lang=es", headers=organizer)
    html = await done.text()
    assert "Se invitó a 1 personas; 0 ya tenían una invitación; 1 identificadores" in html
    assert re.search(r"<dt>Invitaciones emitidas</dt><dd>1</dd>", html)
    assert re.search(r"<dt>Invitaciones usadas</dt><dd>0</dd>", html)
    await pools["surveys"].execute("UPDATE invitations SET used = true WHERE person_id = $1", person)
    html = await (await surveys.get(page_path + "?lang=en", headers=organizer)).text()
    assert re.search(r"<dt>Invitations used</dt><dd>1</dd>", html)

    public = await a_survey(pools["surveys"], access="public", organisation_id=organisation)
    public_path = f"/surveys/console/{public['id']}/invitations"
    csrf = csrf_of(await (await surveys.get(public_path, headers=organizer)).text())
    no = await surveys.post(public_path, data={"csrf": csrf, "person_ids": str(person)}, headers=organizer)
    assert no.status == 409 and 'id="person_ids-error"' in await no.text()


async def test_erasure_takes_the_persons_invitations_drafts_and_name_on_responses(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["surveys"]
    person, other = uuid.uuid4(), uuid.uuid4()
    unused = await a_survey(pool, access="invited", mode="identified")
    used = await a_survey(pool, access="invited", mode="identified")
    hashes = {}
    for survey in (unused, used):
        for who in (person, other):
            hashes[survey["id"], who] = hashlib.sha256(uuid.uuid4().bytes).digest()
            await pool.execute(
                """INSERT INTO invitations (survey_id, person_id, token_hash, language, used)
                   VALUES ($1, $2, $3, 'en', $4)""",
                survey["id"],
                who,
                hashes[survey["id"], who],
                survey is used,
            )
    await pool.execute(
        "INSERT INTO responses (survey_id, version, answers, person_id) VALUES ($1, 1, '{}', $2)",
        used["id"],
        person,
    )
    await pool.execute(
        "INSERT INTO drafts (key, survey_id, version, token_hash, language) VALUES ($1, $2, 1, $3, 'en')",
        uuid.uuid4(),
        unused["id"],
        hashes[unused["id"], person],
    )
    aggregate = f"person:{person}"
    await pool.execute(
        """INSERT INTO outbox (event_id, routing_key, payload, aggregate)
           VALUES ($1, 'invitation.issued', '{}', $2)""",
        uuid.uuid4(),
        aggregate,
    )

    erased = PersonErased(person_id=person, erased_at=datetime.now(UTC))
    envelope = Envelope.wrap(erased, producer="engagement", aggregate=aggregate, sequence=9)
    async with pool.acquire() as conn, conn.transaction():
        await on_person_erased(erased, conn, envelope)

    remaining = await pool.fetch(
        "SELECT person_id FROM invitations WHERE survey_id = ANY($1::uuid[])", [unused["id"], used["id"]]
    )
    assert [r["person_id"] for r in remaining] == [other, other]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM responses WHERE survey_id = $1 AND person_id IS NULL", used["id"]
        )
        == 1
    )
    assert await pool.fetchval("SELECT count(*) FROM drafts WHERE survey_id = $1", unused["id"]) == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE aggregate = $1", aggregate) == 0
    assert str(person) not in await every_row_of(
        pool, "surveys", leaving_out=("aggregate_positions", "inbox")
    )

    # Listed again after the erasure (a part delayed on the bus): they are not invited again.
    survey = await pool.fetchrow(
        """SELECT s.*, v.document -> 'title' AS title, v.document ->> 'main_language' AS main_language
           FROM surveys s JOIN survey_versions v ON v.survey_id = s.id WHERE s.id = $1""",
        unused["id"],
    )
    async with pool.acquire() as conn, conn.transaction():
        done = await issuing.issue(conn, survey, [AudienceMember(person_id=person, language="en")])
    assert done.issued == 0
    assert await pool.fetchval("SELECT count(*) FROM invitations WHERE person_id = $1", person) == 0
