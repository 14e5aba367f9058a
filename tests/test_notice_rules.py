"""The notices' rules alone: quiet hours, what a claimed delivery becomes, what a refusal
means, the signed unsubscribe link, the preferences form, the templates' English fallback and
the report's sums."""

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape

from services.notifications.contacts.preferences import quiet_hours
from services.notifications.contacts.quiet import quiet_until
from services.notifications.contacts.unsubscribe_links import LinkFor, read, token
from services.notifications.deliveries import compose
from services.notifications.deliveries.report import summarise
from services.notifications.deliveries.rules import Defer, Recipient, Send, Suppress, after_refusal, decide

LA = ZoneInfo("America/Los_Angeles")


def at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=LA)


@pytest.mark.parametrize(
    ("now", "start", "end", "until"),
    [
        (at(23), time(22), time(7), at(7, day=11)),  # wraps midnight, evening side
        (at(3), time(22), time(7), at(7)),  # wraps midnight, morning side
        (at(7), time(22), time(7), None),  # the end is not in it
        (at(22), time(22), time(7), at(7, day=11)),  # the start is
        (at(12), time(9), time(17), at(17)),
        (at(8, 59), time(9), time(17), None),
        (at(12), time(9), time(9), None),  # empty window
    ],
)
def test_quiet_hours(now: datetime, start: time, end: time, until: datetime | None) -> None:
    assert quiet_until(now.astimezone(UTC), start, end, "America/Los_Angeles") == until


def test_quiet_hours_end_at_the_wall_clock_across_a_dst_change() -> None:
    # 2026-03-08 02:00 Pacific: clocks spring forward; the night is an hour shorter.
    until = quiet_until(at(23, day=7).astimezone(UTC), time(22), time(7), "America/Los_Angeles")
    assert until is not None and until.astimezone(LA).hour == 7
    assert until.astimezone(UTC) - at(23, day=7).astimezone(UTC) == timedelta(hours=7)


def campaign(**fields: object) -> Recipient:
    values: dict[str, object] = {
        "transactional": False,
        "channel": "email",
        "purpose": "campaign_news",
        "address": None,
        "contact_email": "p@example.org",
        "contact_phone": None,
        "consent_confirmed": True,
        "consents": frozenset({"email:campaign_news"}),
        "unsubscribed": False,
    }
    return Recipient(**(values | fields))  # type: ignore[arg-type]


def test_what_a_delivery_becomes() -> None:
    now = at(12).astimezone(UTC)
    assert decide(campaign(), now) == Send("p@example.org")
    assert decide(campaign(unsubscribed=True), now) == Suppress("unsubscribed")
    assert decide(campaign(consent_confirmed=False), now) == Suppress("no_consent")
    assert decide(campaign(consents=frozenset({"sms:campaign_news"})), now) == Suppress("no_consent")
    assert decide(campaign(contact_email=None), now) == Suppress("no_contact_point")
    quiet = campaign(quiet_start=time(11), quiet_end=time(13), time_zone="America/Los_Angeles")
    assert decide(quiet, now) == Defer("quiet_hours", at(13))
    # Asked for: to the registration's address, whatever the consent, whatever the hour.
    asked = campaign(
        transactional=True,
        address="r@example.org",
        consents=frozenset(),
        unsubscribed=True,
        quiet_start=time(11),
        quiet_end=time(13),
        time_zone="America/Los_Angeles",
    )
    assert decide(asked, now) == Send("r@example.org")
    assert decide(campaign(transactional=True), now) == Suppress("no_contact_point")


def test_refusals() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    retry = [1.0, 5.0]
    assert after_refusal(421, "later", 1, retry, now).retry_at == now + timedelta(seconds=1)
    assert after_refusal(451, "later", 2, retry, now).state == "pending"
    gave_up = after_refusal(451, "later", 3, retry, now)
    assert gave_up.state == "failed" and gave_up.reason == "gave up after 3 attempts: 451 later"
    assert after_refusal(550, "no such mailbox", 1, retry, now).state == "failed"
    assert after_refusal(None, "connection reset", 1, retry, now).state == "pending"


def test_the_unsubscribe_link_is_signed_for_one_person_channel_and_purpose() -> None:
    link = LinkFor(uuid.uuid4(), "email", "campaign_news")
    value = token("secret", link)
    assert read("secret", value) == link
    assert read("another secret", value) is None
    person, channel, purpose, signature = value.split(".")
    assert read("secret", ".".join((str(uuid.uuid4()), channel, purpose, signature))) is None
    assert read("secret", ".".join((person, channel, "surveys", signature))) is None
    assert read("secret", "nonsense") is None


def test_the_preferences_form() -> None:
    assert quiet_hours({"quiet_start": "", "quiet_end": ""})[0] == (None, None, None)
    window, errors = quiet_hours({"quiet_start": "21:30", "quiet_end": "07:00", "time_zone": "Europe/Madrid"})
    assert window == (time(21, 30), time(7), "Europe/Madrid") and errors == {}
    assert set(quiet_hours({"quiet_start": "25:00", "quiet_end": "x", "time_zone": "Mars/Base"})[1]) == {
        "quiet_start",
        "quiet_end",
        "time_zone",
    }
    assert quiet_hours({"quiet_start": "21:00", "quiet_end": "07:00", "time_zone": "UTC"})[1] == {
        "time_zone": "zone"
    }


def test_a_language_without_its_template_is_written_to_in_english() -> None:
    assert compose.template_for("campaign_news", "sms", "fr").name == "notices/en/campaign_news.sms.txt"
    assert compose.template_for("reminder", "sms", "es").name == "notices/es/reminder.sms.txt"


def test_the_report_adds_up_per_notice_and_in_all() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    rows = [
        {"notice": a, "kind": "registration_confirmed", "channel": "email", "state": "sent", "reason": None,
         "people": 3},
        {"notice": a, "kind": "registration_confirmed", "channel": "email", "state": "failed",
         "reason": "550 no", "people": 1},
        {"notice": b, "kind": "meeting_updated", "channel": "email", "state": "pending", "reason": None,
         "people": 2},
        {"notice": b, "kind": "meeting_updated", "channel": "email", "state": "suppressed",
         "reason": "no_contact_point", "people": 1},
        {"notice": b, "kind": "meeting_updated", "channel": "sms", "state": "sent", "reason": None,
         "people": 2},
    ]  # fmt: skip
    report = summarise("meeting:x", rows)
    assert report.recipients == 9 == sum(report.states.values())
    assert [(n.kind, n.channel, n.recipients) for n in report.notices] == [
        ("registration_confirmed", "email", 4),
        ("meeting_updated", "email", 3),
        ("meeting_updated", "sms", 2),
    ]
    assert [n.finished for n in report.notices] == [True, False, True] and not report.finished
    assert report.notices[0].reasons == {"failed": {"550 no": 1}}


def test_a_campaign_message_from_its_prototype_is_each_recipients_own() -> None:
    import email
    import email.policy

    from services.notifications.contacts.unsubscribe_links import signing_key
    from shared.settings import Settings

    settings = Settings(public_url="http://civic.test")
    shared_params = {"campaign_id": str(uuid.uuid4()), "title": "Clean air"}
    notices = [
        compose.Notice(
            id=n,
            kind="campaign_news",
            channel="email",
            purpose="campaign_news",
            language="es",
            person_id=uuid.uuid4(),
            name=name,
            address=f"p{n}@example.org",
            params=shared_params,
        )
        for n, name in ((7, "Ana <b>"), (8, "Bea"))
    ]
    prototype = compose.prototype(notices[0], settings)
    for notice in notices:
        parsed = email.message_from_bytes(prototype.render(notice, settings), policy=email.policy.default)
        assert (
            parsed["To"] == notice.address and parsed["Message-ID"] == f"<delivery-{notice.id}@civic.invalid>"
        )
        link = parsed["List-Unsubscribe"].strip("<>")
        assert read(signing_key(settings), link.rsplit("/", 1)[1]) == LinkFor(
            notice.person_id, "email", "campaign_news"
        )
        text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"Hola, {notice.name}:" in text and link in text
        assert f"Hola, {escape(notice.name)}:" in html and "<b>" not in html.split("<body", 1)[1].replace(
            "<br>", ""
        )
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
