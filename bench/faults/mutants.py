"""Deliberately broken platforms, for the tests that the fault audit fails when it must
(tests/test_fault_audit.py). Selected by name in bench code only: services/ has no switch for them.

- ``answer-before-commit``: the web role answers a registration before writing it (the write
  follows a second later, on another connection), so a crash between the two loses a promised write;
- ``inbox-off``: the consumers' inbox keys are dropped, so a redelivered event is taken for a new
  one (``ON CONFLICT DO NOTHING`` never conflicts) and its handler runs again. Where the handler
  is an upsert (notifications) the second run succeeds unseen by the service's own tables.
"""

import asyncio
from typing import Any

import asyncpg

WRITE_DELAY_S = 1.0
MUTANTS = ("answer-before-commit", "inbox-off")

_INBOXES = ("surveys.inbox", "notifications.inbox")
_UNIQUE_CONSTRAINTS = """
    SELECT format('ALTER TABLE %s DROP CONSTRAINT %I CASCADE', conrelid::regclass, conname)
    FROM pg_constraint WHERE conrelid = ANY($1::regclass[]) AND contype IN ('p', 'u')"""
_UNIQUE_INDEXES = """
    SELECT format('DROP INDEX %s CASCADE', indexrelid::regclass)
    FROM pg_index WHERE indrelid = ANY($1::regclass[]) AND indisunique"""


async def break_database(conn: asyncpg.Connection, mutant: str | None) -> None:
    """The database half of a mutant, applied after migrations and before any process starts."""
    if mutant != "inbox-off":
        return
    for query in (_UNIQUE_CONSTRAINTS, _UNIQUE_INDEXES):
        for statement in [r[0] for r in await conn.fetch(query, list(_INBOXES))]:
            await conn.execute(statement)


def apply(mutant: str) -> None:
    """The process half of a mutant, applied by bench.faults.audited before the service starts."""
    if mutant not in MUTANTS:
        raise SystemExit(f"unknown mutant {mutant!r}; known: {', '.join(MUTANTS)}")
    if mutant == "answer-before-commit":
        _answer_before_commit()


def _answer_before_commit() -> None:
    from shared.group_commit import GroupCommit

    submit = GroupCommit.submit
    writes: set[asyncio.Task[Any]] = set()

    async def submit_later(self: GroupCommit[Any, Any], item: Any) -> Any:
        async def write() -> None:
            await asyncio.sleep(WRITE_DELAY_S)
            await submit(self, item)

        task = asyncio.create_task(write())
        writes.add(task)
        task.add_done_callback(writes.discard)
        return None  # the registration's answer does not read its result

    GroupCommit.submit = submit_later  # type: ignore[method-assign]
