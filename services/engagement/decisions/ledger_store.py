"""The ledger's SQL: appending one entry after the head, and reading entries back as the
objects their hashes cover. Appends are serialised by one transaction-scoped advisory lock, so
two writers never both build on the same head; the table's insert trigger refuses an entry
that does not follow the head, should a writer ever skip the lock."""

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any
from uuid import UUID

import asyncpg

from services.engagement.decisions.canonical import canonical
from services.engagement.decisions.ledger import (
    GENESIS,
    Author,
    Kind,
    Step,
    Verdict,
    at_text,
    signed,
    unsigned,
    verify,
)
from shared.db import DbConnection

_APPEND_LOCK = "civic.engagement.ledger"


async def append(conn: DbConnection, step: Step, author: Author) -> dict[str, Any]:
    """Record ``step`` after the head, in the caller's transaction (so the change it records and
    its entry commit together or not at all); the entry as exported."""
    assert conn.is_in_transaction(), "a ledger entry is written in the transaction of what it records"
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _APPEND_LOCK)
    head = await conn.fetchrow("SELECT sequence, hash FROM ledger_entries ORDER BY sequence DESC LIMIT 1")
    # The database's clock, read under the lock: entries' times never go back along the chain.
    at = await conn.fetchval("SELECT clock_timestamp()")
    entry = signed(
        unsigned(
            step,
            author,
            sequence=(head["sequence"] if head else 0) + 1,
            at=at,
            prev_hash=head["hash"] if head else GENESIS,
        )
    )
    await conn.execute(
        """INSERT INTO ledger_entries (sequence, decision_id, kind, account_id, who_name, role, at,
                                       payload, corrects, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        entry["sequence"],
        step.decision_id,
        step.kind.value,
        author.account_id,
        author.name,
        author.role,
        at,
        canonical(entry["payload"]).decode(),
        step.corrects,
        entry["prev_hash"],
        entry["hash"],
    )
    return entry


_ENTRY = """SELECT sequence, decision_id, kind, account_id, who_name, role, at, payload, corrects,
                  prev_hash, hash
           FROM ledger_entries"""


def entry_of(row: asyncpg.Record) -> dict[str, Any]:
    """A stored entry as the object its hash covers. A payload stored in other than canonical
    form is given as its text, which verification then reports (the bytes hashed are gone)."""
    payload: Any = row["payload"]
    try:
        parsed = json.loads(payload)
        if canonical(parsed).decode() == payload:
            payload = parsed
    except ValueError:
        pass
    account = row["account_id"]
    return {
        "at": at_text(row["at"]),
        "corrects": row["corrects"],
        "decision_id": str(row["decision_id"]),
        "hash": row["hash"],
        "kind": row["kind"],
        "payload": payload,
        "prev_hash": row["prev_hash"],
        "role": row["role"],
        "sequence": row["sequence"],
        "who": {"account_id": None if account is None else str(account), "name": row["who_name"]},
    }


async def entries(conn: DbConnection, batch: int = 1000) -> AsyncIterator[dict[str, Any]]:
    """Every entry in sequence order, read a batch at a time (the chain can be long)."""
    after = 0
    while True:
        rows = await conn.fetch(f"{_ENTRY} WHERE sequence > $1 ORDER BY sequence LIMIT $2", after, batch)
        for row in rows:
            yield entry_of(row)
        if len(rows) < batch:
            return
        after = rows[-1]["sequence"]


async def of_decision(conn: DbConnection, decision_id: UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"{_ENTRY} WHERE decision_id = $1 ORDER BY sequence", decision_id)
    return [entry_of(row) for row in rows]


async def verified(conn: DbConnection) -> Verdict:
    """The stored chain's verification, from its first entry to its head."""
    return verify([entry async for entry in entries(conn)])


async def kind_of(conn: DbConnection, decision_id: UUID, sequence: int) -> str | None:
    """The kind of the decision's entry ``sequence``; None when it is no entry of the decision."""
    kind: str | None = await conn.fetchval(
        "SELECT kind FROM ledger_entries WHERE sequence = $1 AND decision_id = $2", sequence, decision_id
    )
    return kind


async def latest(conn: DbConnection, decision_id: UUID, kind: Kind, holding: Mapping[str, Any]) -> int | None:
    """The sequence of the decision's newest entry of ``kind`` whose payload holds the members
    ``holding`` (with these values); None when it has none."""
    found: int | None = await conn.fetchval(
        """SELECT max(sequence) FROM ledger_entries
           WHERE decision_id = $1 AND kind = $2 AND payload::jsonb @> $3::text::jsonb""",
        decision_id,
        kind.value,
        json.dumps(holding),
    )
    return found
