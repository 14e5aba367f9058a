"""A notice refused for good reaches engagement (``notification.failed``, queue
``engagement.refusals``) as the person's address refused: kept once per person and channel,
marked beside the person on /console/people with the server's answer, and told to the person on
/me. Only answers that blame the address count (not a sender that died mid-send, nor retries used
up); a redelivery, an older refusal, or one from before the address changed changes nothing; a
person unknown or erased is dropped; a changed phone number clears its refusal.

Against the real PostgreSQL and RabbitMQ: notifications' sender writes the failure to its outbox,
its relay publishes it, engagement's consumer applies it. The Spanish assertions need the
strings of /tmp/po-refusals.po merged into the catalog."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.engagement.people.erasing import erase_person
from services.engagement.people.refusals import REFUSALS, refuses_the_address
from services.notifications.deliveries import rules, sender
from shared.bus import Bus
from shared.consumer import Consumer
from shared.contracts import Channel, Envelope, NotificationFailed
from shared.outbox import OutboxRelay
from shared.runtime import declare_topology
from shared.settings import Settings
from tests.support.waiting import eventually
from tests.test_organisations import as_
from tests.test_people_registration import Start, platform_settings, smtp
from tests.test_resident_page import engagement, registered, resident_settings, signed_in

__all__ = ["engagement", "platform_settings", "resident_settings", "smtp"]

ORGANIZER = as_(f"organizer:{uuid.uuid4()}")
MAILBOX_GONE = "550 5.1.1 no such mailbox"
_deliveries = iter(range(10**9, 2 * 10**9))


def failed(
    person_id: uuid.UUID,
    *,
    reason: str = MAILBOX_GONE,
    channel: Channel = "email",
    at: datetime | None = None,
) -> NotificationFailed:
    return NotificationFailed(
        delivery_id=next(_deliveries),
        person_id=person_id,
        subject=f"campaign:{uuid.uuid4()}",
        kind="campaign",
        channel=channel,
        reason=reason,
        failed_at=at or datetime.now(UTC),
    )


async def apply(pool: asyncpg.Pool, event: NotificationFailed, envelope: Envelope | None = None) -> None:
    """Through the subscription's handler in one transaction, as the consumer applies it."""
    envelope = envelope or Envelope.wrap(
        event, producer="notifications", aggregate=f"person:{event.person_id}"
    )
    async with pool.acquire() as conn, conn.transaction():
        await REFUSALS.handler_for(event)(event, conn, envelope)


async def kept(pool: asyncpg.Pool, person_id: uuid.UUID) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT channel, delivery_id, reason, refused_at, address_changed_at FROM address_refusals
           WHERE person_id = $1 ORDER BY channel""",
        person_id,
    )


RETRIES = [30.0, 300.0]
NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("reason", "counts"),
    [
        (rules.after_refusal(550, "5.1.1 no such mailbox", 1, RETRIES, NOW).reason, True),
        (rules.after_refusal(553, "5.1.3 bad address syntax", 1, RETRIES, NOW).reason, True),
        (rules.after_refusal(552, "5.2.2 mailbox full", 1, RETRIES, NOW).reason, True),
        (
            rules.after_refusal(
                550, "Requested action not taken: mailbox unavailable", 1, RETRIES, NOW
            ).reason,
            True,
        ),
        # An SMS provider's refusal of the message to that number (sender.py's transport).
        (
            rules.after_refusal(
                rules.http_as_smtp_code(400), "HTTP 400 invalid number", 1, RETRIES, NOW
            ).reason,
            True,
        ),
        ("550", True),
        # The sender died mid-send: perhaps delivered, and nothing about the address.
        (rules.INTERRUPTED, False),
        # The server kept saying "try later" until the retries were used up.
        (rules.after_refusal(451, "4.3.0 try again later", 3, RETRIES, NOW).reason, False),
        (rules.after_refusal(None, "connection lost", 3, RETRIES, NOW).reason, False),
        ("could not compose: KeyError: 'title'", False),
        # Refused for the message or the sender, not the address.
        (rules.after_refusal(554, "5.7.1 message refused as spam", 1, RETRIES, NOW).reason, False),
        (rules.after_refusal(550, "5.7.26 unauthenticated sender", 1, RETRIES, NOW).reason, False),
        (rules.after_refusal(552, "5.3.4 message too big", 1, RETRIES, NOW).reason, False),
        ("5501 not a reply code", False),
        ("", False),
    ],
)
def test_only_an_answer_that_blames_the_address_counts(reason: str, counts: bool) -> None:
    assert refuses_the_address(reason) is counts


async def test_a_refusal_from_notifications_is_kept_once_and_marked_in_the_console(
    engagement: TestClient,
    pools: dict[str, asyncpg.Pool],
    bus: Bus,
    background: Start,
    resident_settings: Settings,
) -> None:
    pool = pools["engagement"]
    person_id, email = await registered(pool)
    await declare_topology(bus, [REFUSALS])
    background(Consumer(bus, pool, REFUSALS, resident_settings).run())
    background(OutboxRelay(pools["notifications"], bus, "notifications", resident_settings).run())
    # As notifications' sender records a 550 and publishes it, in one transaction.
    async with pools["notifications"].acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """INSERT INTO deliveries (notice, person_id, channel, subject, kind, purpose, transactional,
                                       address, state, reason, finished_at)
               VALUES ($1, $2, 'email', $3, 'campaign', 'campaign_news', false, $4, 'failed', $5, now())
               RETURNING *""",
            uuid.uuid4(),
            person_id,
            f"campaign:{uuid.uuid4()}",
            email,
            MAILBOX_GONE,
        )
        assert row is not None
        await sender.publish_failure(conn, row, row["reason"])

    [refusal] = await eventually(lambda: kept(pool, person_id), lambda rows: len(rows) == 1)
    assert (refusal["channel"], refusal["delivery_id"], refusal["reason"]) == (
        "email",
        row["id"],
        MAILBOX_GONE,
    )
    assert refusal["address_changed_at"] is None

    # The same event delivered again, then another person's: once that one is applied, the
    # second copy was too (one consumer, in order), and it changed nothing.
    published = await pools["notifications"].fetchval(
        """SELECT payload FROM outbox
           WHERE routing_key = 'notification.failed' AND payload->'data'->>'delivery_id' = $1""",
        str(row["id"]),
    )
    again = Envelope.model_validate(published)
    await bus.publish(again.type, again.model_dump_json().encode(), message_id=str(again.id))
    other_id, _ = await registered(pool)
    sentinel = Envelope.wrap(failed(other_id), producer="notifications", aggregate=f"person:{other_id}")
    await bus.publish(sentinel.type, sentinel.model_dump_json().encode(), message_id=str(sentinel.id))
    await eventually(lambda: kept(pool, other_id), lambda rows: len(rows) == 1)
    assert await kept(pool, person_id) == [refusal]

    day = refusal["refused_at"].strftime("%Y-%m-%d")
    listed = await engagement.get("/console/people", params={"q": email}, headers=ORGANIZER)
    html = await listed.text()
    assert listed.status == 200
    assert f"E-mail refused on {day}" in html and f"<q>{MAILBOX_GONE}</q>" in html
    # Nobody else found by that search, and the other person's mark is not on this page.
    assert html.count("refused on") == 1
    spanish = await engagement.get("/console/people", params={"q": email, "lang": "es"}, headers=ORGANIZER)
    assert f"Correo electrónico rechazado el {day}" in await spanish.text()  # needs the merged catalog


async def test_an_older_refusal_an_interrupted_send_and_unknown_people_change_nothing(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["engagement"]
    person_id, _ = await registered(pool)
    newer = failed(person_id, at=datetime.now(UTC))
    envelope = Envelope.wrap(newer, producer="notifications", aggregate=f"person:{person_id}")
    await apply(pool, newer, envelope)
    [first] = await kept(pool, person_id)
    await apply(pool, newer, envelope)  # applied again: the same refusal, nothing to change
    late = failed(person_id, reason="550 5.1.1 user unknown", at=newer.failed_at - timedelta(hours=1))
    await apply(pool, late)
    await apply(pool, failed(person_id, reason=rules.INTERRUPTED, at=newer.failed_at + timedelta(hours=1)))
    assert await kept(pool, person_id) == [first]
    assert first["delivery_id"] == newer.delivery_id

    # An interrupted send or retries used up, for someone with no refusal: no row at all.
    quiet_id, _ = await registered(pool)
    await apply(pool, failed(quiet_id, reason=rules.INTERRUPTED))
    await apply(pool, failed(quiet_id, reason="gave up after 5 attempts: 451 4.3.0 try again later"))
    assert await kept(pool, quiet_id) == []

    # A newer refusal of the address replaces the one kept.
    newest = failed(person_id, reason="550 5.1.1 mailbox disabled", at=newer.failed_at + timedelta(hours=2))
    await apply(pool, newest)
    [replaced] = await kept(pool, person_id)
    assert (replaced["reason"], replaced["refused_at"]) == ("550 5.1.1 mailbox disabled", newest.failed_at)

    # Someone engagement never knew, and someone erased: dropped.
    stranger = uuid.uuid4()
    await apply(pool, failed(stranger))
    async with pool.acquire() as conn:
        await erase_person(conn, person_id)
    assert await kept(pool, person_id) == []  # erasure took the row with the person
    await apply(pool, failed(person_id, at=datetime.now(UTC) + timedelta(hours=3)))
    assert await kept(pool, stranger) == [] and await kept(pool, person_id) == []


async def test_me_tells_the_person_and_a_corrected_number_clears_its_refusal(
    engagement: TestClient, pools: dict[str, asyncpg.Pool]
) -> None:
    pool = pools["engagement"]
    person_id, _, csrf = await signed_in(engagement, pool, phone="+15105550111")
    page = await (await engagement.get("/me")).text()
    assert 'id="email-refused"' not in page and 'id="sms-refused"' not in page

    texted = failed(person_id, channel="sms", reason="550 HTTP 400 invalid number", at=datetime.now(UTC))
    await apply(pool, texted)
    await apply(pool, failed(person_id, at=texted.failed_at))
    day = texted.failed_at.strftime("%Y-%m-%d")
    page = await (await engagement.get("/me")).text()
    assert f"The last message we sent to this address was refused on {day}." in page
    assert f"The last text message we sent to this number was refused on {day}." in page
    assert (
        "<q>550 HTTP 400 invalid number</q>" in page and "If the number is wrong, correct it below." in page
    )

    details = {"csrf": csrf, "display_name": "Ana", "language": "en", "postal_code": "94607"}
    # Saved with the same number: not a change of the address, the refusal stands.
    same = await engagement.post(
        "/me/details", data=details | {"phone": "+15105550111"}, allow_redirects=False
    )
    assert same.status == 303
    assert 'id="sms-refused"' in await (await engagement.get("/me")).text()

    corrected = await engagement.post(
        "/me/details", data=details | {"phone": "+15105550122"}, allow_redirects=False
    )
    assert corrected.status == 303
    page = await (await engagement.get("/me")).text()
    assert 'id="sms-refused"' not in page and "+15105550122" in page
    assert 'id="email-refused"' in page  # the e-mail address did not change
    [email_row, sms_row] = await kept(pool, person_id)
    assert (sms_row["reason"], sms_row["refused_at"], sms_row["delivery_id"]) == (None, None, None)
    assert sms_row["address_changed_at"] is not None and email_row["refused_at"] is not None

    # A refusal of the old number arriving late changes nothing; one of the new number shows.
    await apply(
        pool, failed(person_id, channel="sms", at=sms_row["address_changed_at"] - timedelta(seconds=1))
    )
    assert 'id="sms-refused"' not in await (await engagement.get("/me")).text()
    await apply(pool, failed(person_id, channel="sms", at=datetime.now(UTC) + timedelta(seconds=1)))
    assert 'id="sms-refused"' in await (await engagement.get("/me")).text()

    # The number removed: cleared too. And the download holds what is kept.
    removed = await engagement.post("/me/details", data=details | {"phone": ""}, allow_redirects=False)
    assert removed.status == 303
    assert 'id="sms-refused"' not in await (await engagement.get("/me")).text()
    download = await (await engagement.get("/me/download")).json()
    held = download["services"]["engagement"]["address_refusals"]
    assert [(r["channel"], r["reason"]) for r in held] == [("email", MAILBOX_GONE), ("sms", None)]
    # In Spanish (needs the merged catalog).
    spanish = await (await engagement.get("/me", params={"lang": "es"})).text()
    assert f"El último mensaje que enviamos a esta dirección fue rechazado el {day}." in spanish
