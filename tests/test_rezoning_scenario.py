"""The rezoning scenario end to end, against the real PostgreSQL, surveys and engagement each
through its own HTTP API: a council proposes rezoning the Northside site; residents answer the
consultation survey (surveys), whose response.submitted events engagement counts; a public
hearing takes registrations and checks attendance (engagement's meetings); the consultations
are closed with their participation counted (the hearing's from its registrations), the equity
impact assessment is written, the council votes by name and the outcome is recorded, with
decision.recorded in engagement's outbox naming the survey and the hearing; the public record
shows it all and the ledger verifies, as does its export, and a byte changed in the export is
caught.

The events travel here from one service's outbox to another's handler as the relay and
consumer carry them (parsed from the stored envelope): the bus itself is tested elsewhere. The
loop closes in notifications: the hearing's registrations and decision.recorded through its
notice handlers, then its sender against an SMTP sink, and each registrant who consented to
hear about meetings gets one outcome mail; who did not, and the survey's anonymous
respondents (never known to notifications), get none. Their consent is set on notifications'
contact points directly: how it arrives from engagement's person events is tested elsewhere."""

import json
import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from services.engagement.decisions import handlers
from services.engagement.decisions.ledger import verify_export
from services.notifications.deliveries import writing
from shared.contracts import Envelope, Event, ResponseSubmitted, parse_message
from shared.settings import Settings
from tests import test_accounts
from tests.support.notices import deliveries_of, drain
from tests.support.surveys import a_survey, branching_document, surveys  # noqa: F401
from tests.test_campaigns import an_organisation
from tests.test_competitions import Panel
from tests.test_decisions import ASSESSMENT, a_decision, a_region
from tests.test_notices import notice_settings
from tests.test_organisations import as_
from tests.test_people_registration import Mailbox, smtp
from tests.test_survey_answering import VALID, post

engagement = test_accounts.engagement
__all__ = ["notice_settings", "smtp"]


async def _hearing(
    engagement: TestClient, organisation_id: str, decision_id: str, organizer: dict[str, str]
) -> str:
    body = {
        "organisation_id": organisation_id,
        "kind": "public_hearing",
        "title": {"en": "Public hearing: the Northside site", "es": "Audiencia pública: el sitio Northside"},
        "time_zone": "America/Los_Angeles",
        "starts": "2031-03-04T18:00",
        "ends": "2031-03-04T20:00",
        "venue": "Northside community hall",
        "decision_id": decision_id,
    }
    created = await engagement.post("/api/v1/meetings", json=body, headers=organizer)
    assert created.status == 201, await created.text()
    return str((await created.json())["id"])


async def _to_notifications(pool: asyncpg.Pool, delivered: list[tuple[Envelope, Event]]) -> None:
    """Each event through notifications' notice handler, in its own transaction, in order."""
    for envelope, event in delivered:
        async with pool.acquire() as conn, conn.transaction():
            await writing.NOTICES.handler_for(event)(event, conn, envelope)


async def test_the_northside_rezoning_from_proposal_to_the_outcome_notices(
    engagement: TestClient,
    surveys: TestClient,  # noqa: F811
    pools: dict[str, asyncpg.Pool],
    notice_settings: Settings,
    smtp: tuple[Mailbox, int],
) -> None:
    pool = pools["engagement"]
    organisation_id = await an_organisation(engagement)
    organizer = as_(f"organizer:{organisation_id}")
    region = await a_region(pool)  # 30 % own their home, 70 % rent
    created = await engagement.post(
        "/api/v1/decisions", json=a_decision(organisation_id, region), headers=organizer
    )
    assert created.status == 201, await created.text()
    decision_id = (await created.json())["decision"]["id"]
    council = Panel(engagement, organizer, decision_id)

    # The consultation survey, answered by eight residents (six renters, two owners).
    survey = await a_survey(
        pools["surveys"],
        branching_document(with_demographics=True),
        organisation_id=uuid.UUID(organisation_id),
    )
    await council.call("POST", "/stage", {"to": "consultation"})
    await council.call("POST", "/consultations", {"kind": "survey", "target_id": str(survey["id"])})
    for tenure in ["renter"] * 6 + ["owner"] * 2:
        status, answered = await post(
            surveys, survey["slug"], answers={**VALID, "tenure": {"choice": tenure}}
        )
        assert status == 201, answered
    rows = await pools["surveys"].fetch(
        """SELECT payload::text AS payload FROM outbox
           WHERE routing_key = 'response.submitted' AND payload->'data'->>'survey_id' = $1""",
        str(survey["id"]),
    )
    delivered = [parse_message(row["payload"].encode()) for row in rows]
    assert len(delivered) == 8 and all(isinstance(event, ResponseSubmitted) for _, event in delivered)
    async with pool.acquire() as conn, conn.transaction():
        await handlers.on_responses_submitted(conn, [(event, envelope) for envelope, event in delivered])

    # The public hearing: four register, three come.
    hearing = await _hearing(engagement, organisation_id, decision_id, organizer)
    await council.call("POST", "/consultations", {"kind": "meeting", "target_id": hearing})
    registrations = []
    for n in range(4):
        body = {"display_name": f"Resident {n}", "email": f"resident{n}-{uuid.uuid4().hex[:6]}@example.org"}
        registered = await engagement.post(f"/api/v1/meetings/{hearing}/registrations", json=body)
        assert registered.status == 201, await registered.text()
        registrations.append((await registered.json())["registration_id"])
    checked = await engagement.post(
        f"/api/v1/meetings/{hearing}/attendance",
        json={"attended": registrations[:3], "shown": registrations},
        headers=organizer,
    )
    assert checked.status == 200, await checked.text()
    while_open = await council.call("GET", "", None)
    assert [(c["participants"], c["registered"], c["closed_at"]) for c in while_open["consultations"]] == [
        (8, None, None),
        (3, 4, None),
    ]

    # Deliberation: both consultations closed and counted, the assessment, the vote by name.
    await council.call("POST", "/stage", {"to": "deliberation"})
    heard = {"survey": "Renters asked for affordable homes and a park.", "meeting": "Makers asked to stay."}
    for kind, target in (("survey", str(survey["id"])), ("meeting", hearing)):
        await council.call(
            "POST", "/consultations/close", {"kind": kind, "target_id": target, "what_we_heard": heard[kind]}
        )
    await council.call("PUT", "/assessment", ASSESSMENT)
    recording: dict[str, Any] = {
        "outcome": "amended",
        "votes": [
            {"member": 1, "vote": "for"},
            {"member": 2, "vote": "against"},
            {"member": 3, "vote": "recused", "reason": "Owns a workshop on the site"},
        ],
        "rationale": "Homes are needed; amended to keep space for makers, as the hearing asked.",
        "input_used": [
            {
                "kind": "survey",
                "target_id": str(survey["id"]),
                "how_used": "The park and 80 affordable homes.",
            },
            {
                "kind": "meeting",
                "target_id": hearing,
                "how_used": "30 % of the site kept for light industry.",
            },
        ],
    }
    refused = await council.call("POST", "/outcome", recording, 409)  # one for, one against: no majority
    assert refused["detail"] == "the votes do not carry this outcome under the decision's method"
    recording["votes"][1] = {"member": 2, "vote": "for"}
    record = await council.call("POST", "/outcome", recording)

    public = await (await engagement.get(f"/api/v1/decisions/{decision_id}")).json()  # nobody signed in
    assert public == record
    assert public["decision"]["outcome"] == "amended"
    assert [(v["name"], v["vote"], v["reason"]) for v in public["votes"]] == [
        ("Rosa Díaz", "for", ""),
        ("Tom Chen", "for", ""),
        ("Ana Ruiz", "recused", "Owns a workshop on the site"),
    ]
    assert [(c["kind"], c["participants"], c["registered"]) for c in public["consultations"]] == [
        ("survey", 8, None),
        ("meeting", 3, 4),
    ]
    [tenure] = [d for d in public["representativeness"] if d["dimension"] == "tenure"]
    assert [
        (b["band"], b["respondents"], b["respondent_percent"], b["population_percent"])
        for b in tenure["bands"]
    ] == [
        ("owner", None, None, 30),  # 2 respondents: fewer than 5, neither count nor share shown
        ("renter", 6, 75, 70),
    ]
    counted = [e["payload"] for e in public["entries"] if e["kind"] == "participation_counted"]
    assert [(p["kind"], p["participants"], p.get("registered")) for p in counted] == [
        ("survey", 8, None),
        ("meeting", 3, 4),
    ]
    assert "Resident 0" not in json.dumps(public["entries"])  # participants are counts, never names
    assert public["ledger"]["verifies"] is True

    [announced] = await pool.fetch(
        "SELECT routing_key, payload::text AS payload FROM outbox WHERE aggregate = $1",
        f"decision:{decision_id}",
    )
    data = json.loads(announced["payload"])["data"]
    assert announced["routing_key"] == "decision.recorded"
    assert (data["outcome"], data["survey_ids"], data["meeting_ids"]) == (
        "amended",
        [str(survey["id"])],
        [hearing],
    )

    exported = await (await engagement.get("/api/v1/ledger/export")).read()
    verdict = verify_export(exported)
    assert verdict.verifies and verdict.entries >= len(public["entries"])
    line = exported.index(b'"vote":"recused"')
    tampered = exported[:line] + b'"vote":"abstain"' + exported[line + len(b'"vote":"recused"') :]
    assert not verify_export(tampered).verifies

    # Closing the loop: the hearing's registrations, then the decision, carried to notifications.
    notices = pools["notifications"]
    carried = await pool.fetch(
        """SELECT payload::text AS payload FROM outbox
           WHERE (routing_key LIKE 'registration.%' AND payload->'data'->'meeting'->>'meeting_id' = $1)
              OR aggregate = $2
           ORDER BY id""",
        hearing,
        f"decision:{decision_id}",
    )
    events = [parse_message(row["payload"].encode()) for row in carried]
    registrants = {e.person_id: e.registrant.email for _, e in events if e.type == "registration.confirmed"}
    assert len(registrants) == 4 and events[-1][1].type == "decision.recorded"
    consenting = dict(list(registrants.items())[:3])  # the fourth gave no consent to meetings' notices
    for person_id, mail in registrants.items():
        await notices.execute(
            """INSERT INTO contact_points (person_id, display_name, email, language, consent_requested,
                                           consent_confirmed_at, consents)
               VALUES ($1, 'Resident', $2, 'en', true, now(), $3)""",
            person_id,
            mail,
            ["email:meetings"] if person_id in consenting else [],
        )
    await _to_notifications(notices, events + delivered)  # the survey's respondents: anonymous
    await _to_notifications(notices, events[-1:])  # decision.recorded redelivered: nothing more
    await drain(notices, notice_settings)
    mailbox, _ = smtp
    outcomes = await deliveries_of(notices, f"decision:{decision_id}")
    assert sorted((r["state"], r["reason"]) for r in outcomes) == [("sent", None)] * 3 + [
        ("suppressed", "no_consent")
    ]
    told = [m for m in mailbox.messages if m["Subject"] == f"Decided: {data['title']}"]
    assert sorted(m["To"] for m in told) == sorted(consenting.values())
    for message in told:
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "How your input was used: 30 % of the site kept for light industry." in text
        assert "The park and 80 affordable homes." not in text  # the survey they did not answer
