"""The SQL of decisions: the decision with its members, stages, consultations and assessment,
and the participation counted for consultations from surveys' and meetings' events."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.engagement.community.store import Db, _like
from services.engagement.decisions.ballots import SKIPPED, Count, Tally
from services.engagement.decisions.models import (
    PAGE_SIZE,
    Assessment,
    ConsultationKind,
    DecisionFields,
    Recording,
    Stage,
)
from shared.contracts.survey_tallies import SurveyClosed

_DECISION = """SELECT d.id, d.organisation_id, o.name AS organisation_name, d.region_id,
                      r.name AS region_name, d.title, d.site, d.description, d.document_links, d.body,
                      d.method, d.stage, d.outcome, d.rationale, d.is_demo, d.created_at, d.updated_at,
                      d.ballot::text AS ballot,
                      (SELECT coalesce(json_agg(json_build_object('name', m.name, 'seat', m.seat)
                                                ORDER BY m.position), '[]')
                       FROM decision_members m WHERE m.decision_id = d.id)::text AS members,
                      count(*) OVER () AS total
               FROM decisions d
               JOIN organisations o ON o.id = d.organisation_id
               JOIN regions r ON r.id = d.region_id"""


async def decisions(
    conn: Db,
    search: str,
    offset: int,
    *,
    region_id: UUID | None = None,
    stage: Stage | None = None,
    organisations: Sequence[UUID] | None = None,
) -> list[asyncpg.Record]:
    """A page of decisions whose title holds ``search``, newest first; of one region, stage or
    set of organisations when given."""
    return await conn.fetch(
        f"""{_DECISION}
            WHERE d.title ILIKE $1 AND ($2::uuid IS NULL OR d.region_id = $2)
              AND ($3::text IS NULL OR d.stage = $3)
              AND ($4::uuid[] IS NULL OR d.organisation_id = ANY($4))
            ORDER BY d.created_at DESC, d.id OFFSET $5 LIMIT $6""",
        _like(search),
        region_id,
        None if stage is None else stage.value,
        None if organisations is None else list(organisations),
        offset,
        PAGE_SIZE,
    )


async def decision(conn: Db, decision_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"{_DECISION} WHERE d.id = $1", decision_id)
    return row


async def lock(conn: Db, decision_id: UUID) -> asyncpg.Record | None:
    """The decision's organisation, stage and method, locked until the transaction ends: two
    writes to one decision happen one after the other, each seeing the stage the other left."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT organisation_id, stage, method, body, title FROM decisions WHERE id = $1 FOR UPDATE",
        decision_id,
    )
    return row


def _columns(fields: DecisionFields) -> tuple[Any, ...]:
    """The details' columns of ``decisions``, in the order insert and edit write them."""
    return (
        fields.organisation_id,
        fields.region_id,
        fields.title,
        fields.site,
        fields.description,
        list(fields.document_links),
        fields.body.value,
        fields.method.value,
    )


async def insert(conn: Db, decision_id: UUID, fields: DecisionFields, *, is_demo: bool = False) -> bool:
    """False when the id exists already (the demo's fixed id)."""
    done: str = await conn.execute(
        """INSERT INTO decisions (id, organisation_id, region_id, title, site, description, document_links,
                                  body, method, is_demo)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING""",
        decision_id,
        *_columns(fields),
        is_demo,
    )
    if not done.endswith(" 1"):
        return False
    await _seat(conn, decision_id, fields)
    await _entered(conn, decision_id, Stage.PROPOSED)
    return True


async def _seat(conn: Db, decision_id: UUID, fields: DecisionFields) -> None:
    """The body's members, in the order given (their place is their position, from 1)."""
    await conn.execute(
        """INSERT INTO decision_members (decision_id, position, name, seat)
           SELECT $1, position, name, seat
           FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS m (name, seat, position)""",
        decision_id,
        [member.name for member in fields.members],
        [member.seat for member in fields.members],
    )


async def details(conn: Db, decision_id: UUID) -> DecisionFields | None:
    """The decision's details as an organizer proposes them: what an edit replaces."""
    row = await decision(conn, decision_id)
    if row is None:
        return None
    named = {name: row[name] for name in DecisionFields.model_fields if name != "members"}
    return DecisionFields.model_validate({**named, "members": members_of(row)})


async def edit(conn: Db, decision_id: UUID, fields: DecisionFields, *, members: bool) -> None:
    """Replace the details of a decision the caller has locked; its members too when
    ``members`` (the caller checked no vote, score or conflict names their places)."""
    await conn.execute(
        """UPDATE decisions
           SET organisation_id = $2, region_id = $3, title = $4, site = $5, description = $6,
               document_links = $7, body = $8, method = $9, updated_at = clock_timestamp()
           WHERE id = $1""",
        decision_id,
        *_columns(fields),
    )
    if members:
        await conn.execute("DELETE FROM decision_members WHERE decision_id = $1", decision_id)
        await _seat(conn, decision_id, fields)


async def set_stage(conn: Db, decision_id: UUID, stage: Stage) -> None:
    """Move a decision the caller has locked on to ``stage``, noting when."""
    await conn.execute(
        "UPDATE decisions SET stage = $2, updated_at = clock_timestamp() WHERE id = $1",
        decision_id,
        stage.value,
    )
    await _entered(conn, decision_id, stage)


async def _entered(conn: Db, decision_id: UUID, stage: Stage) -> None:
    await conn.execute(
        "INSERT INTO decision_stages (decision_id, stage, entered_at) VALUES ($1, $2, clock_timestamp())",
        decision_id,
        stage.value,
    )


async def stages(conn: Db, decision_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT stage, entered_at FROM decision_stages WHERE decision_id = $1 ORDER BY entered_at, stage",
        decision_id,
    )


async def link(conn: Db, decision_id: UUID, kind: ConsultationKind, target_id: UUID) -> bool:
    """False when it is linked already."""
    done: str = await conn.execute(
        """INSERT INTO decision_consultations (decision_id, kind, target_id) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING""",
        decision_id,
        kind.value,
        target_id,
    )
    return done.endswith(" 1")


async def consultations(conn: Db, decision_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT kind, target_id, linked_at, what_we_heard, how_used, closed_at, participants, registered
           FROM decision_consultations WHERE decision_id = $1 ORDER BY linked_at, kind, target_id""",
        decision_id,
    )


async def lock_consultation(
    conn: Db, decision_id: UUID, kind: ConsultationKind, target_id: UUID
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT closed_at FROM decision_consultations
           WHERE decision_id = $1 AND kind = $2 AND target_id = $3 FOR UPDATE""",
        decision_id,
        kind.value,
        target_id,
    )
    return row


async def participation(conn: Db, kind: ConsultationKind, target_id: UUID) -> tuple[int, int | None]:
    """How many took part (responses; people who attended) and, for a meeting, registered:
    the figures a consultation keeps when it closes, and the page shows while it is open."""
    if kind is ConsultationKind.SURVEY:
        return await responses_to(conn, target_id), None
    # Meetings are this database's: counted from their registrations as they stand (a
    # cancelled registration is no registration; an erased person's is gone, and the count
    # kept at closing stays). Waitlisted ones registered too, and may have come.
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE attended_at IS NOT NULL) AS attended,
                  count(*) FILTER (WHERE status <> 'cancelled') AS registered
           FROM meeting_registrations WHERE meeting_id = $1""",
        target_id,
    )
    assert row is not None  # an aggregate always answers
    return int(row["attended"]), int(row["registered"])


async def responses_to(conn: Db, survey_id: UUID) -> int:
    """How many of the survey's responses have reached engagement."""
    found: int = await conn.fetchval(
        "SELECT count(*) FROM consultation_responses WHERE survey_id = $1", survey_id
    )
    return found


async def close(
    conn: Db,
    decision_id: UUID,
    kind: ConsultationKind,
    target_id: UUID,
    what_we_heard: str,
    counted: tuple[int, int | None],
) -> datetime:
    closed: datetime = await conn.fetchval(
        """UPDATE decision_consultations
           SET what_we_heard = $4, participants = $5, registered = $6, closed_at = clock_timestamp()
           WHERE decision_id = $1 AND kind = $2 AND target_id = $3 RETURNING closed_at""",
        decision_id,
        kind.value,
        target_id,
        what_we_heard,
        *counted,
    )
    return closed


async def band_counts(conn: Db, survey_ids: Sequence[UUID]) -> list[asyncpg.Record]:
    """Responses to the surveys per dimension and band (``demographics``: dimension -> band)."""
    return await conn.fetch(
        """SELECT d.dimension, d.band, count(*) AS respondents
           FROM consultation_responses c
           CROSS JOIN LATERAL jsonb_each_text(c.demographics) AS d (dimension, band)
           WHERE c.survey_id = ANY($1::uuid[])
           GROUP BY d.dimension, d.band""",
        list(survey_ids),
    )


async def baseline(conn: Db, region_id: UUID) -> list[asyncpg.Record]:
    """The region's newest baseline estimate per dimension and band (its bands' order)."""
    return await conn.fetch(
        """SELECT DISTINCT ON (b.dimension, b.band) b.dimension, b.band, b.estimate, bb.position
           FROM baselines b JOIN baseline_bands bb USING (dimension, band)
           WHERE b.region_id = $1 AND b.band <> 'total'
           ORDER BY b.dimension, b.band, b.source_year DESC""",
        region_id,
    )


async def write_assessment(conn: Db, decision_id: UUID, assessment: Assessment) -> None:
    await conn.execute(
        """INSERT INTO decision_assessments (decision_id, who_pays, who_benefits, who_decides, groups,
                                             mitigations, narrative)
           VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7)
           ON CONFLICT (decision_id) DO UPDATE
           SET who_pays = $2, who_benefits = $3, who_decides = $4, groups = $5::text::jsonb, mitigations = $6,
               narrative = $7, written_at = clock_timestamp()""",
        decision_id,
        assessment.who_pays,
        assessment.who_benefits,
        assessment.who_decides,
        json.dumps([group.model_dump() for group in assessment.groups]),  # text: raw connections too
        assessment.mitigations,
        assessment.narrative,
    )


async def assessment(conn: Db, decision_id: UUID) -> Assessment | None:
    row = await conn.fetchrow(
        """SELECT who_pays, who_benefits, who_decides, groups::text, mitigations, narrative
           FROM decision_assessments WHERE decision_id = $1""",
        decision_id,
    )
    return (
        None if row is None else Assessment.model_validate({**dict(row), "groups": json.loads(row["groups"])})
    )


async def record(conn: Db, decision_id: UUID, recording: Recording) -> None:
    """The outcome, the votes and how input was used, on a decision the caller has locked
    (its stage is set apart, with the timeline)."""
    assert recording.outcome is not None  # typed, or computed from the ballot
    await conn.execute(
        """UPDATE decisions
           SET outcome = $2, rationale = $3, stage = 'decided', updated_at = clock_timestamp()
           WHERE id = $1""",
        decision_id,
        recording.outcome.value,
        recording.rationale,
    )
    await _entered(conn, decision_id, Stage.DECIDED)
    await conn.execute(
        """UPDATE decision_members m SET vote = v.vote, reason = v.reason
           FROM unnest($2::int[], $3::text[], $4::text[]) AS v (position, vote, reason)
           WHERE m.decision_id = $1 AND m.position = v.position""",
        decision_id,
        [vote.member for vote in recording.votes],
        [vote.vote.value for vote in recording.votes],
        [vote.reason for vote in recording.votes],
    )
    await conn.execute(
        """UPDATE decision_consultations c SET how_used = u.how_used
           FROM unnest($2::text[], $3::uuid[], $4::text[]) AS u (kind, target_id, how_used)
           WHERE c.decision_id = $1 AND c.kind = u.kind AND c.target_id = u.target_id""",
        decision_id,
        [use.kind.value for use in recording.input_used],
        [use.target_id for use in recording.input_used],
        [use.how_used for use in recording.input_used],
    )


async def votes(conn: Db, decision_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT position, name, seat, vote, reason FROM decision_members
           WHERE decision_id = $1 ORDER BY position""",
        decision_id,
    )


async def account_name(conn: Db, account_id: UUID) -> str | None:
    name: str | None = await conn.fetchval("SELECT display_name FROM accounts WHERE id = $1", account_id)
    return name


async def choosable_regions(conn: Db) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, name FROM regions WHERE kind NOT IN ('zip', 'tract') ORDER BY name, id LIMIT 1000"
    )


async def responses_received(conn: Db, responses: Sequence[tuple[UUID, UUID, str]]) -> None:
    """Responses (id, survey, demographics JSON) as surveys announced them, each once."""
    await conn.execute(
        """INSERT INTO consultation_responses (response_id, survey_id, demographics)
           SELECT response_id, survey_id, demographics::jsonb
           FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS r (response_id, survey_id, demographics)
           ON CONFLICT (response_id) DO NOTHING""",
        [response for response, _, _ in responses],
        [survey for _, survey, _ in responses],
        [demographics for _, _, demographics in responses],
    )


def members_of(row: asyncpg.Record) -> list[dict[str, str]]:
    members: list[dict[str, str]] = json.loads(row["members"])
    return members


async def survey_closed(conn: Db, event: SurveyClosed) -> None:
    """A closed survey's final tally, once (a survey closes once; a redelivery changes nothing)."""
    done: str = await conn.execute(
        """INSERT INTO survey_closings (survey_id, responses, pending, closed_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (survey_id) DO NOTHING""",
        event.survey_id,
        event.responses,
        event.pending,
        event.closed_at,
    )
    if not done.endswith(" 1"):
        return
    rows = [
        (question.question, question.prompt, option, label, responses, position)
        for question in event.questions
        for position, (option, label, responses) in enumerate(
            (*((o.option, o.label, o.responses) for o in question.options), (SKIPPED, "", question.skipped)),
            start=1,
        )
    ]
    await conn.executemany(
        """INSERT INTO survey_closing_tallies (survey_id, question, prompt, option, label, responses,
                                               position)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [(event.survey_id, *row) for row in rows],
    )


async def tally(conn: Db, survey_id: UUID) -> Tally | None:
    """The survey's final tally, once it has closed."""
    closing = await conn.fetchrow(
        "SELECT responses, pending FROM survey_closings WHERE survey_id = $1", survey_id
    )
    if closing is None:
        return None
    questions: dict[str, tuple[str, list[Count]]] = {}
    for row in await conn.fetch(
        """SELECT question, prompt, option, label, responses FROM survey_closing_tallies
           WHERE survey_id = $1 ORDER BY question, position""",
        survey_id,
    ):
        questions.setdefault(row["question"], (row["prompt"], []))[1].append(
            Count(row["option"], row["label"], row["responses"])
        )
    return Tally(
        survey_id,
        closing["responses"],
        closing["pending"],
        {question: (prompt, tuple(counts)) for question, (prompt, counts) in questions.items()},
    )


async def keep_ballot(conn: Db, decision_id: UUID, ballot: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE decisions SET ballot = $2::text::jsonb WHERE id = $1", decision_id, json.dumps(ballot)
    )
