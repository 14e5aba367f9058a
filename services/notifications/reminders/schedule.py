"""The reminder schedule. A seat holder's registration gets a row per reminder still ahead;
a moved meeting's rows are due again for its new start; a cancelled meeting's or registration's
rows are cancelled. The scheduler claims due rows with FOR UPDATE SKIP LOCKED and, in the same
statement, marks them done and writes their delivery (unique per reminder and start): several
schedulers, or one restarted, never remind twice, and never a registration no longer holding a
seat nor a cancelled meeting."""

import asyncio
import logging
from datetime import datetime
from uuid import UUID

import asyncpg

from shared.cancellation import stop_if_cancelled
from shared.db import DbConnection
from shared.settings import Settings

log = logging.getLogger(__name__)

BATCH = 500


def _ahead(offset: str) -> str:
    """How long before the start the reminder named by the column ``offset`` is due."""
    return f"CASE {offset} WHEN '24h' THEN interval '24 hours' ELSE interval '1 hour' END"


_AHEAD = _ahead("o.name")
_OFFSETS = "(VALUES ('24h'), ('1h')) AS o (name)"


async def schedule(conn: DbConnection, registration_id: UUID, meeting_id: UUID, starts_at: datetime) -> None:
    """The registration's reminders still ahead of ``starts_at``; one already done for this
    start stays done."""
    await conn.execute(
        f"""INSERT INTO reminders AS r (registration_id, offset_name, meeting_id, starts_at, due_at)
            SELECT $1, o.name, $2, $3::timestamptz, $3::timestamptz - {_AHEAD} FROM {_OFFSETS}
            WHERE $3::timestamptz - {_AHEAD} > clock_timestamp()
            ON CONFLICT (registration_id, offset_name) DO UPDATE SET
                starts_at = excluded.starts_at, due_at = excluded.due_at, state = 'scheduled'
            WHERE r.starts_at <> excluded.starts_at OR r.state = 'cancelled'""",  # noqa: S608 - constants
        registration_id,
        meeting_id,
        starts_at,
    )


async def move(conn: DbConnection, meeting_id: UUID, starts_at: datetime) -> None:
    """The meeting starts at another time: its reminders remind of the new start, those already
    past it are not sent."""
    await conn.execute(
        f"""UPDATE reminders r SET starts_at = $2, due_at = $2::timestamptz - {_ahead("r.offset_name")},
                state = CASE WHEN $2::timestamptz - {_ahead("r.offset_name")} > clock_timestamp()
                             THEN 'scheduled' ELSE 'cancelled' END
            WHERE meeting_id = $1 AND starts_at <> $2 AND state <> 'cancelled'""",  # noqa: S608 - constants
        meeting_id,
        starts_at,
    )


async def cancel_meeting(conn: DbConnection, meeting_id: UUID) -> None:
    await conn.execute(
        "UPDATE reminders SET state = 'cancelled' WHERE meeting_id = $1 AND state = 'scheduled'", meeting_id
    )


async def cancel_registration(conn: DbConnection, registration_id: UUID) -> None:
    await conn.execute(
        "UPDATE reminders SET state = 'cancelled' WHERE registration_id = $1 AND state = 'scheduled'",
        registration_id,
    )


# Claims due reminders, marks them done and writes the deliveries, in one statement. The notice
# id is the reminder's and its start's, so a reminder is one delivery whatever happens.
_REMIND = """
    WITH due AS (
        SELECT registration_id, offset_name FROM reminders
        WHERE state = 'scheduled' AND due_at <= clock_timestamp()
        ORDER BY due_at LIMIT $1
        FOR UPDATE SKIP LOCKED),
    done AS (
        UPDATE reminders r SET state = 'done' FROM due
        WHERE r.registration_id = due.registration_id AND r.offset_name = due.offset_name
        RETURNING r.registration_id, r.offset_name, r.meeting_id, r.starts_at),
    written AS (
        INSERT INTO deliveries (notice, person_id, channel, subject, kind, purpose, transactional,
                                address, language, params)
        SELECT md5(done.registration_id::text || done.offset_name || done.starts_at::text)::uuid,
               g.person_id, CASE WHEN g.email IS NULL AND g.phone IS NOT NULL THEN 'sms' ELSE 'email' END,
               'meeting:' || m.meeting_id, 'reminder', 'meetings', true, coalesce(g.email, g.phone),
               g.language,
               jsonb_build_object('meeting', m.facts, 'join_url', m.join_url, 'link_path', g.link_path,
                                  'name', g.display_name, 'offset', done.offset_name)
        FROM done JOIN notice_registrations g USING (registration_id)
             JOIN notice_meetings m ON m.meeting_id = done.meeting_id
        WHERE g.status = 'confirmed' AND NOT m.cancelled
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT (SELECT count(*) FROM done) AS claimed, (SELECT count(*) FROM written) AS written"""


async def remind_due(pool: asyncpg.Pool) -> tuple[int, int]:
    """One round: (reminders claimed, deliveries written)."""
    row = await pool.fetchrow(_REMIND, BATCH)
    assert row is not None
    return row["claimed"], row["written"]


async def run_reminders(pool: asyncpg.Pool, settings: Settings) -> None:
    """Background loop: turn due reminders into deliveries. Never stops over a fault."""
    while True:
        stop_if_cancelled()
        try:
            claimed, _ = await remind_due(pool)
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("reminders: %s: %s", type(exc).__name__, exc)
            claimed = 0
        if claimed < BATCH:
            await asyncio.sleep(settings.mail_poll_s)
