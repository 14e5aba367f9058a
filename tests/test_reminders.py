"""Reminders from the database-backed schedule: two schedulers racing over the same due rows
remind each seat holder once per reminder; a restart (a new scheduler) sends nothing again;
nothing for a cancelled meeting or to someone who cancelled; a moved meeting's reminders are
due again for its new start."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.notifications.reminders.schedule import remind_due
from shared.contracts import MeetingCancelled, MeetingUpdated, RegistrationCancelled
from tests.support.notices import a_meeting, apply, confirmed


async def _due_now(pool: asyncpg.Pool, meeting_id: uuid.UUID) -> None:
    """Time passes: the meeting's scheduled reminders fall due."""
    await pool.execute(
        """UPDATE reminders SET due_at = clock_timestamp() - interval '1 second'
           WHERE meeting_id = $1 AND state = 'scheduled'""",
        meeting_id,
    )


async def reminders_sent(pool: asyncpg.Pool, meeting_id: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            """SELECT person_id, params->>'offset' AS offset FROM deliveries
               WHERE subject = $1 AND kind = 'reminder'""",
            f"meeting:{meeting_id}",
        )
    )


async def test_two_schedulers_remind_once_and_never_the_cancelled(pools: dict[str, asyncpg.Pool]) -> None:
    pool = pools["notifications"]
    meeting = a_meeting()
    registrations = [confirmed(meeting, f"r{n}-{uuid.uuid4().hex[:6]}@example.org") for n in range(40)]
    for registration in registrations:
        await apply(pool, registration)
    leaver = registrations[0]
    await apply(
        pool,
        RegistrationCancelled(
            registration_id=leaver.registration_id,
            person_id=leaver.person_id,
            language="en",
            meeting=meeting,
            registrant=leaver.registrant,
            cancelled_at=datetime.now(UTC),
        ),
    )
    await _due_now(pool, meeting.meeting_id)
    rounds = await asyncio.gather(*(remind_due(pool) for _ in range(6)))  # racing schedulers
    rounds.append(await remind_due(pool))  # one started again after a restart
    # Each reminder claimed by one scheduler only (the deliveries' unique key would hide a
    # second claim: it is counted where nothing forbids it).
    assert sum(claimed for claimed, _ in rounds) == 2 * len(registrations[1:])
    sent = await reminders_sent(pool, meeting.meeting_id)
    assert sorted((r["person_id"], r["offset"]) for r in sent) == sorted(
        (r.person_id, offset) for r in registrations[1:] for offset in ("24h", "1h")
    )

    cancelled = a_meeting()
    await apply(pool, confirmed(cancelled, "c@example.org"))
    await apply(
        pool,
        MeetingCancelled(
            meeting=cancelled.model_copy(update={"sequence": 1}), cancelled_at=datetime.now(UTC)
        ),
    )
    await _due_now(pool, cancelled.meeting_id)
    await remind_due(pool)
    assert await reminders_sent(pool, cancelled.meeting_id) == []


async def test_a_moved_meeting_is_reminded_of_again_for_its_new_start(pools: dict[str, asyncpg.Pool]) -> None:
    pool = pools["notifications"]
    meeting = a_meeting()
    await apply(pool, confirmed(meeting, "m@example.org"))
    await _due_now(pool, meeting.meeting_id)
    await remind_due(pool)
    moved = meeting.model_copy(
        update={
            "sequence": 1,
            "starts_at": meeting.starts_at + timedelta(days=3),
            "ends_at": meeting.ends_at + timedelta(days=3),
        }
    )
    await apply(pool, MeetingUpdated(meeting=moved, changed=("starts_at",), updated_at=datetime.now(UTC)))
    due = await pool.fetch(
        "SELECT state, due_at FROM reminders WHERE meeting_id = $1 ORDER BY due_at", meeting.meeting_id
    )
    assert [r["state"] for r in due] == ["scheduled", "scheduled"]
    assert [r["due_at"] for r in due] == [
        moved.starts_at - timedelta(hours=24),
        moved.starts_at - timedelta(hours=1),
    ]
    await _due_now(pool, meeting.meeting_id)
    await remind_due(pool)
    assert len(await reminders_sent(pool, meeting.meeting_id)) == 4
