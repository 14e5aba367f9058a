"""Campaign news, survey invitations and their reminders by SMS as well as by e-mail, against the
real PostgreSQL, an in-process SMTP server and a real HTTP receiver on loopback standing for the
SMS provider: a row per channel the person has a contact point for, each decided by consent on
its own channel when it is sent; the texts in the person's language, short, with the link; the
invitation's token gone from every finished row; a redelivered event sends nothing twice; and
the notice report, a line per notice and channel, putting everyone in one state and adding up."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.notifications.contacts import unsubscribe_links
from services.notifications.deliveries import compose
from services.notifications.survey_notices import INVITATIONS, closes_in
from shared.contracts import (
    AudienceMember,
    CampaignAudienceListed,
    Envelope,
    Event,
    InvitationIssued,
    InvitationReminderDue,
)
from shared.settings import Settings
from tests.support.notices import apply, deliveries_of, drain, envelope_of
from tests.test_decision_outcome_notices import a_person
from tests.test_notice_campaigns import launch, notifications
from tests.test_notices import notice_settings
from tests.test_organisations import as_
from tests.test_people_registration import Mailbox, address, smtp
from tests.test_sms import Receiver, receiver

__all__ = ["notice_settings", "notifications", "receiver", "smtp"]  # fixtures

# The limit kept to: two concatenated SMS segments of GSM-7 text, 2 x 153 = 306 characters, for a
# deployment at a public address as long as https://civic.example.org (25 characters), whatever
# the title (each text cuts it to 40 characters). A title with characters outside GSM-7 ("ó")
# makes the whole message UCS-2 (67 characters a segment): the texts' own words keep to GSM-7 so
# that only such a title can.
TWO_SEGMENTS = 2 * 153
GSM_7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_7_ESCAPED = frozenset("^{}\\[~]|€")  # two characters each


def septets(text: str) -> int:
    """The text's length in GSM-7 characters; it fails for a text that is not GSM-7."""
    outside = {c for c in text if c not in GSM_7 | GSM_7_ESCAPED}
    assert not outside, f"not GSM-7: {outside}"
    return sum(2 if c in GSM_7_ESCAPED else 1 for c in text)


def stop_link(settings: Settings, person_id: uuid.UUID, purpose: str) -> str:
    link = unsubscribe_links.LinkFor(person_id, "sms", purpose)  # type: ignore[arg-type]
    token = unsubscribe_links.token(unsubscribe_links.signing_key(settings), link)
    return f"http://civic.test/notifications/u/{token}"


def a_phone() -> str:
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


async def a_contact(
    pool: asyncpg.Pool,
    consents: tuple[str, ...],
    *,
    email: str | None = None,
    phone: str | None = None,
    language: str = "en",
) -> uuid.UUID:
    """A contact point as notifications projects it from engagement's events, with ``email``
    (none for a phone alone) as its address."""
    person_id, _ = await a_person(pool, consents, language=language, phone=phone)
    await pool.execute("UPDATE contact_points SET email = $2 WHERE person_id = $1", person_id, email)
    return person_id


async def apply_invitation(pool: asyncpg.Pool, event: Event, envelope: Envelope) -> None:
    """The event through notifications' invitations handler in one transaction, as its consumer."""
    async with pool.acquire() as conn, conn.transaction():
        await INVITATIONS.handler_for(event)(event, conn, envelope)


async def invitations_of(pool: asyncpg.Pool, campaign_id: uuid.UUID) -> list[asyncpg.Record]:
    return [
        r for r in await deliveries_of(pool, f"campaign:{campaign_id}") if r["kind"] == "survey_invitation"
    ]


async def drain_both(pool: asyncpg.Pool, settings: Settings) -> None:
    await drain(pool, settings, "email")
    await drain(pool, settings, "sms")


@dataclass(frozen=True)
class Sending:
    """Notifications' database and API, its senders' settings, and what the SMTP server and the
    SMS provider received."""

    pool: asyncpg.Pool
    settings: Settings
    mailbox: Mailbox
    provider: Receiver
    client: TestClient


@pytest.fixture
def sending(
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
    receiver: tuple[Receiver, str],
    notifications: TestClient,
) -> Sending:
    settings = notice_settings.model_copy(update={"sms_url": receiver[1], "sms_token": "provider-token"})
    return Sending(pools["notifications"], settings, smtp[0], receiver[0], notifications)


async def report_of(client: TestClient, campaign_id: uuid.UUID, organisation_id: uuid.UUID) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/notifications/campaigns/{campaign_id}/report", headers=as_(f"organizer:{organisation_id}")
    )
    assert response.status == 200
    return dict(await response.json())


def lines_of(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The report's lines by kind and channel, each checked to add up."""
    lines = {(n["kind"], n["channel"]): n for n in report["notices"]}
    assert len(lines) == len(report["notices"])
    for line in report["notices"]:
        assert sum(line["states"].values()) == line["recipients"]
    assert (
        report["recipients"] == sum(report["states"].values()) == sum(n["recipients"] for n in lines.values())
    )
    return lines


async def test_campaign_news_goes_by_each_consented_channel_in_the_persons_language(sending: Sending) -> None:
    pool, sms_settings, mailbox, provider = sending.pool, sending.settings, sending.mailbox, sending.provider
    organisation_id, unknown = uuid.uuid4(), uuid.uuid4()  # listed by engagement, no contact point here
    campaign_id = await launch(pool, organisation_id, [unknown])
    phones = {name: a_phone() for name in ("sms_only", "phone_only", "both", "mail_consent", "none")}
    mails = {name: address(name.replace("_", "")) for name in ("sms_only", "both", "mail_consent", "none")}
    people = {
        # e-mail and phone, news by SMS only, in Spanish: the SMS, and no e-mail
        "sms_only": await a_contact(
            pool, ("sms:campaign_news",), email=mails["sms_only"], phone=phones["sms_only"], language="es"
        ),
        "phone_only": await a_contact(pool, ("sms:campaign_news",), phone=phones["phone_only"]),
        "both": await a_contact(
            pool, ("email:campaign_news", "sms:campaign_news"), email=mails["both"], phone=phones["both"]
        ),
        "mail_consent": await a_contact(
            pool, ("email:campaign_news",), email=mails["mail_consent"], phone=phones["mail_consent"]
        ),
        "none": await a_contact(pool, ("sms:meetings",), email=mails["none"], phone=phones["none"]),
    }
    languages = {"sms_only": "es"}
    listed = CampaignAudienceListed(
        campaign_id=campaign_id,
        organisation_id=organisation_id,
        survey_ids=(),
        part=1,
        parts=1,
        members=tuple(
            AudienceMember(person_id=p, language=languages.get(name, "en")) for name, p in people.items()
        ),
    )
    envelope = await apply(pool, listed)  # a second part of the audience
    people["unknown"] = unknown
    await drain_both(pool, sms_settings)
    await apply(pool, listed, envelope)  # redelivered
    await drain_both(pool, sms_settings)

    rows = await deliveries_of(pool, f"campaign:{campaign_id}")
    by_person = {
        name: {r["channel"]: (r["state"], r["reason"]) for r in rows if r["person_id"] == p}
        for name, p in people.items()
    }
    assert by_person == {
        "sms_only": {"sms": ("sent", None), "email": ("suppressed", "no_consent")},
        "phone_only": {"sms": ("sent", None)},  # no e-mail row for who has no address
        "both": {"sms": ("sent", None), "email": ("sent", None)},
        "mail_consent": {"sms": ("suppressed", "no_consent"), "email": ("sent", None)},
        "none": {"sms": ("suppressed", "no_consent"), "email": ("suppressed", "no_consent")},
        "unknown": {"email": ("suppressed", "no_consent")},
    }
    texts = {body["to"]: body["text"] for _, body in provider.received}
    assert len(provider.received) == len(texts) == 3  # once each, redelivery or not
    assert set(texts) == {phones["sms_only"], phones["phone_only"], phones["both"]}
    assert texts[phones["sms_only"]] == (
        "Nueva campaña: Clean air for Northside. http://civic.test/ Baja: "
        + stop_link(sms_settings, people["sms_only"], "campaign_news")
    )
    assert texts[phones["phone_only"]].startswith("New campaign: Clean air for Northside.")
    assert all(septets(text) <= TWO_SEGMENTS for text in texts.values())
    assert sorted(m["To"] for m in mailbox.messages) == sorted([mails["both"], mails["mail_consent"]])

    report = await report_of(sending.client, campaign_id, organisation_id)
    lines = lines_of(report)
    assert set(lines) == {("campaign_news", "email"), ("campaign_news", "sms")}
    assert lines["campaign_news", "email"]["states"] == {
        "sent": 2, "failed": 0, "suppressed": 3, "deferred": 0, "pending": 0
    }  # fmt: skip
    assert lines["campaign_news", "sms"]["states"] == {
        "sent": 3, "failed": 0, "suppressed": 2, "deferred": 0, "pending": 0
    }  # fmt: skip
    # Each line holds everyone written to on its channel once: the rows of each channel, one a person.
    for channel in ("email", "sms"):
        on_it = [r["person_id"] for r in rows if r["channel"] == channel]
        assert lines["campaign_news", channel]["recipients"] == len(on_it) == len(set(on_it))
    assert report["recipients"] == len(rows) == 10 and report["finished"] is True
    page = await sending.client.get(
        f"/notifications/console/campaigns/{campaign_id}?lang=es", headers=as_(f"organizer:{organisation_id}")
    )
    text = await page.text()
    assert page.status == 200
    assert "campaign_news (Mensaje de texto)" in text and "campaign_news (Correo electrónico)" in text


async def test_an_invitation_by_sms_carries_its_link_and_no_finished_row_keeps_the_token(
    sending: Sending,
) -> None:
    pool, sms_settings, mailbox, provider = sending.pool, sending.settings, sending.mailbox, sending.provider
    organisation_id, survey_id = uuid.uuid4(), uuid.uuid4()
    phones = {name: a_phone() for name in ("sms_es", "both", "declined")}
    both_mail, sms_es_mail = address("both"), address("smses")
    people = {
        "sms_es": await a_contact(
            pool, ("sms:surveys",), email=sms_es_mail, phone=phones["sms_es"], language="es"
        ),
        "both": await a_contact(
            pool, ("email:surveys", "sms:surveys"), email=both_mail, phone=phones["both"]
        ),
        "declined": await a_contact(pool, ("sms:campaign_news",), phone=phones["declined"]),
    }
    # Its news to one of them, who takes none (no consent to it on either channel).
    campaign_id = await launch(pool, organisation_id, [people["both"]])
    closes_at = datetime(2026, 9, 30, 17, tzinfo=UTC)
    tokens = {name: uuid.uuid4().hex + uuid.uuid4().hex[:11] for name in people}
    invitations = {
        name: InvitationIssued(
            invitation_id=uuid.uuid4(),
            survey_id=survey_id,
            person_id=p,
            campaign_id=campaign_id,
            language="es" if name == "sms_es" else "en",
            title="Encuesta de vivienda" if name == "sms_es" else "Housing survey",
            link_path=f"/surveys/s/abcdefgh23456789?invitation={tokens[name]}",
            closes_at=closes_at,
        )
        for name, p in people.items()
    }
    envelopes = {name: envelope_of(event, f"person:{event.person_id}") for name, event in invitations.items()}
    for name, event in invitations.items():
        await apply_invitation(pool, event, envelopes[name])

    written = {(r["person_id"], r["channel"]): r for r in await invitations_of(pool, campaign_id)}
    holding = {key for key, r in written.items() if "secret_path" in r["params"]}
    # Only a row that may still go holds the link; one suppressed when issued never did.
    assert holding == {(people["sms_es"], "sms"), (people["both"], "sms"), (people["both"], "email")}
    assert (written[people["sms_es"], "email"]["state"], written[people["sms_es"], "email"]["reason"]) == (
        "suppressed",
        "no_consent",
    )
    assert written[people["declined"], "sms"]["reason"] == "no_consent"
    assert (people["declined"], "email") not in written  # a phone alone: no e-mail row

    await drain_both(pool, sms_settings)
    for name, event in invitations.items():  # each delivered again
        await apply_invitation(pool, event, envelopes[name])
    await drain_both(pool, sms_settings)

    texts = {body["to"]: body["text"] for _, body in provider.received}
    assert len(provider.received) == len(texts) == 2
    link = f"http://civic.test/surveys/s/abcdefgh23456789?invitation={tokens['sms_es']}&lang=es"
    stop = stop_link(sms_settings, people["sms_es"], "surveys")
    assert texts[phones["sms_es"]] == f'Encuesta "Encuesta de vivienda": {link} Baja: {stop}'
    assert texts[phones["both"]].startswith(
        f'Survey "Housing survey": http://civic.test/surveys/s/abcdefgh23456789?invitation={tokens["both"]}'
        "&lang=en Stop: http://civic.test/notifications/u/"
    )
    assert all(septets(text) <= TWO_SEGMENTS for text in texts.values())
    [mailed] = mailbox.to(both_mail)
    assert tokens["both"] in mailed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert not mailbox.to(sms_es_mail)

    rows = await invitations_of(pool, campaign_id)
    assert len(rows) == 5 and all(r["finished_at"] is not None for r in rows)
    assert {
        (r["person_id"], r["channel"]): r["state"] for r in rows if r["state"] == "sent"
    }.keys() == holding
    every_row = "\n".join(r["t"] for r in await pool.fetch("SELECT d::text AS t FROM deliveries d"))
    assert not any(token in every_row for token in tokens.values())

    # The reminder: by SMS too, in Spanish, without a link to answer (none is kept), once.
    due = InvitationReminderDue(
        invitation_id=invitations["sms_es"].invitation_id,
        survey_id=survey_id,
        person_id=people["sms_es"],
        campaign_id=campaign_id,
        language="es",
        title="Encuesta de vivienda",
        closes_at=closes_at,
    )
    for _ in range(2):
        await apply_invitation(pool, due, envelope_of(due, f"person:{due.person_id}"))
        await drain_both(pool, sms_settings)
    reminders = [body["text"] for _, body in provider.received if body["text"].startswith("Recordatorio")]
    assert reminders == [
        f'Recordatorio: la encuesta "Encuesta de vivienda" cierra pronto, el {closes_in(closes_at, "es")}. '
        f"Para responder, use el enlace que le enviamos. Baja: {stop}"
    ]
    assert "invitation=" not in reminders[0] and septets(reminders[0]) <= TWO_SEGMENTS

    lines = lines_of(await report_of(sending.client, campaign_id, organisation_id))
    assert {key: line["recipients"] for key, line in lines.items()} == {
        ("campaign_news", "email"): 1,
        ("campaign_news", "sms"): 1,
        ("survey_invitation", "sms"): 3,
        ("survey_invitation", "email"): 2,
        ("survey_reminder", "sms"): 1,
        ("survey_reminder", "email"): 1,
    }
    assert lines["survey_invitation", "sms"]["states"]["sent"] == 2
    assert lines["survey_invitation", "sms"]["reasons"] == {"suppressed": {"no_consent": 1}}
    assert lines["survey_reminder", "email"]["reasons"] == {"suppressed": {"no_consent": 1}}


def test_each_sms_text_keeps_to_two_segments_with_a_long_title_and_address() -> None:
    settings = Settings(public_url="https://civic.example.org", notice_secret="s" * 32)
    title = "Manufacturing the Dream: the Bay Area's workforce and training survey"
    for language in ("en", "es"):
        closes = closes_in(datetime(2026, 9, 30, 17, tzinfo=UTC), language)  # the longest month's name
        for kind, purpose, params in (
            ("campaign_news", "campaign_news", {"campaign_id": str(uuid.uuid4()), "title": title}),
            (
                "survey_invitation",
                "surveys",
                {
                    "title": title,
                    "closes": closes,
                    # as surveys makes it: a 16-character slug, a 43-character token, the language
                    "secret_path": f"/surveys/s/{'a' * 16}?invitation={'T' * 43}&lang={language}",
                },
            ),
            ("survey_reminder", "surveys", {"title": title, "closes": closes}),
        ):
            notice = compose.Notice(
                id=10**12,
                kind=kind,
                channel="sms",
                purpose=purpose,
                language=language,
                person_id=uuid.uuid4(),
                name="Pat",
                address="+15555550100",
                params=params,
            )
            assert compose.template_for(kind, "sms", language).name == f"notices/{language}/{kind}.sms.txt"
            text = compose.sms_text(notice, settings)
            assert "https://civic.example.org/notifications/u/" in text
            assert title[:30] in text and title not in text  # cut to 40 characters
            assert septets(text) <= TWO_SEGMENTS, (kind, language, len(text), text)


async def test_a_person_sent_the_news_on_both_channels_is_contacted_once(sending: Sending) -> None:
    """Told to engagement as one person reached, whichever sender records first, also when the
    e-mail and the SMS senders record at the same moment."""
    pool, settings = sending.pool, sending.settings.model_copy(update={"notice_batch": 3})
    both = ("email:campaign_news", "sms:campaign_news")
    for concurrently in (False, True):
        people = [await a_contact(pool, both, email=address("both"), phone=a_phone()) for _ in range(7)]
        campaign_id = await launch(pool, uuid.uuid4(), people)
        if concurrently:
            await asyncio.gather(drain(pool, settings, "email"), drain(pool, settings, "sms"))
        else:
            await drain_both(pool, settings)
        rows = await deliveries_of(pool, f"campaign:{campaign_id}")
        assert [r["state"] for r in rows] == ["sent"] * 14
        contacted = await pool.fetchval(
            """SELECT sum((payload -> 'data' ->> 'newly_contacted')::int) FROM outbox
               WHERE routing_key = 'campaign.contacted' AND payload -> 'data' ->> 'campaign_id' = $1""",
            str(campaign_id),
        )
        assert contacted == 7, concurrently
