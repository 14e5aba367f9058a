"""The rules of invitations without I/O: an audience listed in parts, which surveys take
invitations, pasted ids, tokens and their hashes, why a mail is not sent, and the mail's text."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.engagement.campaigns.listing import parts
from services.notifications.deliveries import compose
from services.notifications.deliveries.rules import Recipient, Suppress, decide
from services.notifications.survey_notices import closes_in
from services.surveys.invitations import rules, tokens
from services.surveys.invitations.rules import NoInvitations
from shared.contracts import AudienceMember, CampaignAudienceListed, InvitationIssued
from shared.contracts.campaigns import MAX_LISTED
from shared.settings import Settings

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def members(n: int) -> list[AudienceMember]:
    return [AudienceMember(person_id=uuid.uuid4(), language="es" if i % 3 else "en") for i in range(n)]


@given(st.integers(min_value=0, max_value=3 * MAX_LISTED + 1))
def test_the_audience_is_listed_whole_in_numbered_parts_of_at_most_a_thousand(n: int) -> None:
    everyone = members(n)
    campaign, organisation, survey = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    listed = parts(campaign, organisation, [survey], everyone)
    assert [m for part in listed for m in part.members] == everyone
    assert [p.part for p in listed] == list(range(1, len(listed) + 1))
    assert all(p.parts == len(listed) and len(p.members) <= MAX_LISTED for p in listed)
    assert len(listed) == -(-n // MAX_LISTED)
    assert all(p.survey_ids == (survey,) and p.campaign_id == campaign for p in listed)


def test_no_one_lists_nothing_and_no_survey_still_lists_everyone_for_the_news() -> None:
    assert parts(uuid.uuid4(), uuid.uuid4(), [uuid.uuid4()], []) == []
    [listed] = parts(uuid.uuid4(), uuid.uuid4(), [], members(3))
    assert listed.survey_ids == () and len(listed.members) == 3


def test_a_listed_part_carries_no_contact_data_and_refuses_a_part_beyond_its_parts() -> None:
    assert set(CampaignAudienceListed.model_fields) == {
        "campaign_id",
        "organisation_id",
        "survey_ids",
        "part",
        "parts",
        "members",
    }
    assert set(AudienceMember.model_fields) == {"person_id", "language"}
    with pytest.raises(ValueError, match="beyond"):
        CampaignAudienceListed(
            campaign_id=uuid.uuid4(),
            organisation_id=uuid.uuid4(),
            survey_ids=(uuid.uuid4(),),
            part=2,
            parts=1,
            members=tuple(members(1)),
        )


@pytest.mark.parametrize(
    ("access", "status", "opens", "closes", "refused"),
    [
        ("invited", "open", None, None, None),
        ("both", "open", None, None, None),
        ("invited", "open", NOW + timedelta(days=1), None, None),  # scheduled: the link waits
        ("public", "open", None, None, NoInvitations.PUBLIC_ONLY),
        ("invited", "draft", None, None, NoInvitations.NOT_OPEN_YET),
        ("invited", "closed", None, None, NoInvitations.CLOSED),
        ("both", "open", None, NOW, NoInvitations.CLOSED),  # its close time has come
    ],
)
def test_a_survey_takes_invitations_when_invited_and_open_or_scheduled(
    access: str, status: str, opens: datetime | None, closes: datetime | None, refused: NoInvitations | None
) -> None:
    assert rules.refusal(access, status, opens, closes, NOW) is refused


def test_pasted_ids_are_read_one_per_line_each_once_and_bad_lines_named() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert rules.person_ids(f"{a}\n\n  {b}  \r\n{a}\n") == ([a, b], [])
    assert rules.person_ids(f"{a}\nnot an id\n{b}\n12") == ([a, b], [2, 4])
    assert rules.person_ids("") == ([], [])


def test_a_token_is_random_and_only_its_sha256_is_kept() -> None:
    token = tokens.new_token()
    assert token != tokens.new_token() and len(token) >= 43
    assert tokens.token_hash(token) == hashlib.sha256(token.encode()).digest()
    path = tokens.link_path("manufacturing-dream", token)
    assert path == f"/surveys/s/manufacturing-dream?invitation={token}"
    InvitationIssued(  # the contract's pattern accepts the link
        invitation_id=uuid.uuid4(),
        survey_id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        language="en",
        title="A survey",
        link_path=path,
    )


@pytest.mark.parametrize(
    ("consents", "email", "why"),
    [
        (("email:surveys",), "ana@example.org", None),
        (("email:meetings",), "ana@example.org", "no_consent"),
        ((), None, "no_consent"),
        (("email:surveys",), None, "no_contact_point"),
        (("email:surveys",), "", "no_contact_point"),
    ],
)
def test_an_invitation_is_mailed_only_with_consent_and_an_address(
    consents: tuple[str, ...], email: str | None, why: str | None
) -> None:
    recipient = Recipient(False, "email", "surveys", None, email, None, True, frozenset(consents), False)
    decision = decide(recipient, NOW)
    assert (decision.reason if isinstance(decision, Suppress) else None) == why


def invitation(language: str, title: str, closes_at: datetime | None) -> compose.Notice:
    return compose.Notice(
        id=7,
        kind="survey_invitation",
        channel="email",
        purpose="surveys",
        language=language,
        person_id=uuid.uuid4(),
        name="Ana",
        address="ana@example.org",
        params={
            "title": title,
            "closes": closes_in(closes_at, language),
            "secret_path": f"/surveys/s/plan?invitation={'x' * 43}&lang={language}",
        },
    )


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_mail_is_in_the_persons_language_with_the_whole_link_on_a_line_of_its_own(language: str) -> None:
    settings = Settings(public_url="https://civic.example")
    message = compose.email(
        invitation(language, "El plan\nde la ciudad", datetime(2025, 7, 1, 12, tzinfo=UTC)), settings
    )
    subject = message["Subject"]
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "\n" not in subject and "El plan de la ciudad" in subject
    link = f"https://civic.example/surveys/s/plan?invitation={'x' * 43}&lang={language}"
    assert link in body.splitlines()
    assert "Ana" in body and "https://civic.example/me" in body
    assert message["List-Unsubscribe"].startswith("<https://civic.example/notifications/u/")
    if language == "es":
        assert subject.startswith("Su invitación") and "La encuesta se cierra el 1 de julio de 2025" in body
    else:
        assert subject.startswith("Your invitation") and "The survey closes on July 1, 2025" in body
    without_close = compose.email(invitation(language, "Plan", None), settings)
    text = without_close.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "closes" not in text and "cierra" not in text
