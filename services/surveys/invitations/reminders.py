"""Reminders of invitations not used yet, some time before their survey closes.

Surveys knows whether an invitation was used; notifications must not learn which response was
whose. So surveys decides who is reminded: a background job claims the invitations of open
surveys closing within ``REMIND_BEFORE`` that are unused and not yet reminded, with FOR UPDATE
SKIP LOCKED (several replicas never take the same one), marks them reminded and emits one
``invitation.reminder_due`` each in the same transaction: once per invitation, across restarts.
An invitation used before its reminder is due is never told, so notifications learns that its
invitee answered (as the missing reminder says) but nothing of which response was theirs."""

import asyncio
import logging
from datetime import timedelta

import asyncpg

from services.surveys.invitations.issuing import PRODUCER, title_in
from shared.cancellation import stop_if_cancelled
from shared.contracts import InvitationReminderDue
from shared.db import DbConnection
from shared.outbox import Emission, emit_many
from shared.settings import Settings

log = logging.getLogger(__name__)

REMIND_BEFORE = timedelta(hours=48)
POLL_S = 60.0
BATCH = 500

_CLAIM = """
    WITH due AS (
        SELECT i.id FROM invitations i JOIN surveys s ON s.id = i.survey_id
        WHERE NOT i.used AND i.reminded_at IS NULL AND s.status = 'open'
          AND s.closes_at > clock_timestamp() AND s.closes_at <= clock_timestamp() + $1
        ORDER BY s.closes_at, i.id
        LIMIT $2
        FOR UPDATE OF i SKIP LOCKED)
    UPDATE invitations i SET reminded_at = clock_timestamp()
    FROM due, surveys s, survey_versions v
    WHERE i.id = due.id AND s.id = i.survey_id AND v.survey_id = s.id AND v.version = s.current_version
    RETURNING i.id, i.survey_id, i.person_id, i.campaign_id, i.language, s.closes_at,
              v.document -> 'title' AS title, v.document ->> 'main_language' AS main_language"""


async def remind_due(conn: DbConnection, before: timedelta = REMIND_BEFORE) -> int:
    """Claim the due invitations and emit their reminders, in one transaction; how many."""
    async with conn.transaction():
        rows = await conn.fetch(_CLAIM, before, BATCH)
        emissions = [
            Emission(
                [
                    InvitationReminderDue(
                        invitation_id=row["id"],
                        survey_id=row["survey_id"],
                        person_id=row["person_id"],
                        campaign_id=row["campaign_id"],
                        language=row["language"],
                        title=title_in(row, row["language"]),
                        closes_at=row["closes_at"],
                    )
                ],
                aggregate=f"person:{row['person_id']}",
            )
            for row in rows
        ]
        if emissions:
            await emit_many(conn, emissions, producer=PRODUCER)
    return len(rows)


async def keep_reminding(pool: asyncpg.Pool, settings: Settings) -> None:
    """Background job: due reminders, until none is due, then a pause."""
    while True:
        stop_if_cancelled()
        try:
            async with pool.acquire() as conn:
                while await remind_due(conn) == BATCH:
                    pass
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("survey reminders: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(POLL_S)
