"""Issuing invitations: rows with the tokens' hashes, and one ``invitation.issued`` per row in
the same transaction (emit_many: one statement for all of them), so an invitation exists if and
only if its link is on its way to notifications. The token is in the event and nowhere in the
surveys schema; an invitation already there is left as it is (its token is not known any more,
and a second link would be a second way in).

Each event is about the invitee (aggregate ``person:<id>``): notifications refuses it once they
are erased, and surveys' erasure deletes the ones not yet published."""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.surveys.building.definition import Text
from services.surveys.invitations import store, tokens
from shared.contracts import AudienceMember, InvitationIssued
from shared.db import DbConnection
from shared.outbox import Emission, emit_many

PRODUCER = "surveys"


@dataclass(frozen=True)
class Issued:
    issued: int
    already_invited: int


def title_in(survey: asyncpg.Record, language: str) -> str:
    """The survey's title in the invitee's language, or its main language when it has none."""
    return Text.model_validate(survey["title"]).in_language(language, survey["main_language"])


async def issue(
    conn: DbConnection,
    survey: asyncpg.Record,
    members: Sequence[AudienceMember],
    *,
    campaign_id: UUID | None = None,
    causation_id: UUID | None = None,
    correlation_id: str | None = None,
    actor: str | None = None,
) -> Issued:
    """Invite each of ``members`` not invited to ``survey`` yet, inside the caller's transaction."""
    invitees = {m.person_id: m.language for m in members}  # each once
    minted = {person_id: tokens.new_token() for person_id in invitees}
    written = await store.insert(
        conn,
        survey["id"],
        campaign_id,
        list(invitees),
        list(invitees.values()),
        [tokens.token_hash(token) for token in minted.values()],
    )
    emissions = [
        Emission(
            [
                InvitationIssued(
                    invitation_id=row["id"],
                    survey_id=survey["id"],
                    person_id=row["person_id"],
                    campaign_id=campaign_id,
                    language=row["language"],
                    title=title_in(survey, row["language"]),
                    link_path=tokens.link_path(survey["slug"], minted[row["person_id"]]),
                    closes_at=survey["closes_at"],
                )
            ],
            aggregate=f"person:{row['person_id']}",
            correlation_id=correlation_id,
            causation_id=causation_id,
            actor=actor,
        )
        for row in written
    ]
    if emissions:
        await emit_many(conn, emissions, producer=PRODUCER)
    return Issued(issued=len(written), already_invited=len(invitees) - len(written))
