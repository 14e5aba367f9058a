"""The SQL of deliveries: claiming due rows, recording outcomes, the rate limit's window, the
sweep of rows whose sender died, the report's counts and the retry of failures."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from services.notifications.deliveries.rules import INTERRUPTED
from shared.db import DbConnection

_SECOND = timedelta(seconds=1)

# Due rows of a channel, oldest first; each claimed row holds a lease so that no other sender
# takes it, committed before anything is sent (a crash leaves the lease to run out).
CLAIM = """
    WITH due AS (
        SELECT id FROM deliveries
        WHERE channel = $1 AND state IN ('pending', 'deferred') AND claimed_until IS NULL
          AND next_attempt_at <= clock_timestamp()
        ORDER BY next_attempt_at, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED)
    UPDATE deliveries d
    SET claim = $3, claimed_until = clock_timestamp() + $4 * interval '1 second', attempts = d.attempts + 1
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.notice, d.person_id, d.subject, d.kind, d.channel, d.purpose, d.transactional,
              d.address, d.language, d.params, d.attempts"""

CONTACTS = """
    SELECT c.person_id, c.display_name, c.email, c.phone, c.language, c.consents,
           c.consent_confirmed_at IS NOT NULL AS consent_confirmed, c.quiet_start, c.quiet_end, c.time_zone,
           coalesce(array_agg(u.channel || ':' || u.purpose) FILTER (WHERE u.person_id IS NOT NULL), '{}')
               AS unsubscribed
    FROM contact_points c LEFT JOIN unsubscribes u USING (person_id)
    WHERE c.person_id = ANY ($1::uuid[])
    GROUP BY c.person_id"""


async def claim(
    conn: DbConnection, channel: str, limit: int, token: UUID, lease_s: float
) -> list[asyncpg.Record]:
    return list(await conn.fetch(CLAIM, channel, limit, token, lease_s))


async def contacts(conn: DbConnection, people: Sequence[UUID]) -> dict[UUID, asyncpg.Record]:
    if not people:
        return {}
    return {row["person_id"]: row for row in await conn.fetch(CONTACTS, list(people))}


async def campaign_titles(conn: DbConnection, campaigns: Sequence[str]) -> dict[str, tuple[str, list[str]]]:
    """Each known campaign's title and the paths of its meetings' pages."""
    if not campaigns:
        return {}
    rows = await conn.fetch(
        """SELECT campaign_id::text AS id, title, meeting_ids FROM notice_campaigns
           WHERE campaign_id = ANY ($1::uuid[])""",
        list(campaigns),
    )
    return {row["id"]: (row["title"], [f"/meetings/{m}" for m in row["meeting_ids"]]) for row in rows}


async def record(
    conn: DbConnection,
    token: UUID,
    ids: Sequence[int],
    states: Sequence[str],
    reasons: Sequence[str | None],
    next_at: Sequence[datetime | None],
    spent: Sequence[bool],
) -> None:
    """Each claimed row's outcome, and its lease released. ``spent`` False gives the attempt
    back (a row released untried: the server was unreachable, its campaign not yet known)."""
    await conn.execute(
        """UPDATE deliveries d SET state = o.state, reason = o.reason,
               next_attempt_at = coalesce(o.next_at, d.next_attempt_at),
               attempts = d.attempts - CASE WHEN o.spent THEN 0 ELSE 1 END,
               finished_at = CASE WHEN o.state IN ('sent', 'failed', 'suppressed') THEN clock_timestamp() END,
               -- a link holding a token (an invitation's) is kept only while it may still go
               params = CASE WHEN o.state IN ('sent', 'failed', 'suppressed') THEN d.params - 'secret_path'
                             ELSE d.params END,
               claim = NULL, claimed_until = NULL
           FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::boolean[])
                AS o (id, state, reason, next_at, spent)
           WHERE d.id = o.id AND d.claim = $1
             AND d.claimed_until IS NOT NULL  -- a row swept as interrupted keeps that verdict""",
        token,
        list(ids),
        list(states),
        list(reasons),
        list(next_at),
        list(spent),
    )


async def sweep_interrupted(conn: DbConnection) -> list[asyncpg.Record]:
    """Rows whose lease ran out while pending: their sender stopped mid-send, and whether the
    server took them is unknown. Recorded failed and never sent again, so nobody gets two."""
    return list(
        await conn.fetch(
            """UPDATE deliveries SET state = 'failed', reason = $1, claimed_until = NULL,
                   finished_at = clock_timestamp(), params = params - 'secret_path'
               WHERE claimed_until < clock_timestamp()
               RETURNING id, person_id, subject, kind, channel, reason""",
            INTERRUPTED,
        )
    )


async def grant(conn: DbConnection, channel: str, want: int, per_second: int) -> tuple[int, datetime]:
    """Sends of ``channel`` this sender may make in the current one-second window (shared by
    every replica through the row's lock), and when the next window starts."""
    async with conn.transaction():
        row = await conn.fetchrow(
            """INSERT INTO send_windows AS w (channel, window_start, used)
               VALUES ($1, date_trunc('second', clock_timestamp()), 0)
               ON CONFLICT (channel) DO UPDATE SET
                   used = CASE WHEN w.window_start = excluded.window_start THEN w.used ELSE 0 END,
                   window_start = excluded.window_start
               RETURNING window_start, used""",
            channel,
        )
        assert row is not None
        granted = max(0, min(want, per_second - row["used"]))
        await conn.execute("UPDATE send_windows SET used = used + $2 WHERE channel = $1", channel, granted)
    return granted, row["window_start"] + _SECOND


async def defer_for_rate(conn: DbConnection, channel: str, limit: int, until: datetime) -> int:
    """Due rows that the rate limit holds back this window: deferred to the next."""
    done = await conn.execute(
        """UPDATE deliveries SET state = 'deferred', reason = 'rate_limit', next_attempt_at = $3
           WHERE id IN (SELECT id FROM deliveries
                        WHERE channel = $1 AND state IN ('pending', 'deferred') AND claimed_until IS NULL
                          AND next_attempt_at <= clock_timestamp()
                        ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)""",
        channel,
        limit,
        until,
    )
    return int(done.split()[-1])


async def report(conn: DbConnection, subject: str) -> list[asyncpg.Record]:
    """Per notice of the subject and channel: its kind, when it was written, and its rows by
    state and reason."""
    return list(
        await conn.fetch(
            """SELECT notice, kind, channel, min(created_at) AS created_at, state, reason,
                      count(*) AS people
               FROM deliveries WHERE subject = $1
               GROUP BY notice, kind, channel, state, reason
               ORDER BY min(created_at), notice, channel, state, reason""",
            subject,
        )
    )


async def retry_failed(conn: DbConnection, subject: str) -> int:
    """Failed rows of the subject due again now, as pending. Rows that were sent stay sent, and
    interrupted ones (perhaps delivered) stay failed: nobody gets a second copy."""
    done = await conn.execute(
        """UPDATE deliveries SET state = 'pending', reason = NULL, attempts = 0,
               next_attempt_at = clock_timestamp(), finished_at = NULL
           WHERE subject = $1 AND state = 'failed' AND reason <> $2""",
        subject,
        INTERRUPTED,
    )
    return int(done.split()[-1])
