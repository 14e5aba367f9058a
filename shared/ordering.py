"""Refusing stale events. Retries come back after seconds and relays interleave, so events about
one aggregate can arrive out of order; each carries its aggregate and a sequence number that
grows per aggregate (``emit(..., aggregate=...)``). A projection that keeps only the latest state
applies an event only if it is newer than the last one it applied."""

from shared.contracts import Envelope
from shared.db import DbConnection


async def newer_than_applied(conn: DbConnection, projection: str, envelope: Envelope) -> bool:
    """Record ``envelope`` as applied to ``projection`` and return True, unless a later event of
    the same aggregate was applied already (then False: skip it). Events without an aggregate
    are always new. Call it in the handler's transaction."""
    if envelope.aggregate is None or envelope.sequence is None:
        return True
    applied = await conn.fetchval(
        """INSERT INTO aggregate_positions AS p (consumer, aggregate, sequence) VALUES ($1, $2, $3)
           ON CONFLICT (consumer, aggregate) DO UPDATE SET sequence = EXCLUDED.sequence
           WHERE p.sequence < EXCLUDED.sequence
           RETURNING true""",
        projection,
        envelope.aggregate,
        envelope.sequence,
    )
    return bool(applied)


async def ended(conn: DbConnection, tombstones: str, envelope: Envelope) -> bool:
    """Whether ``envelope``'s aggregate has ended (a person erased): its last event was recorded
    with ``newer_than_applied(conn, tombstones, last)``. Nothing about it applies afterwards, so
    an event delayed past the end cannot bring back what the end removed."""
    if envelope.aggregate is None:
        return False
    return bool(
        await conn.fetchval(
            "SELECT true FROM aggregate_positions WHERE consumer = $1 AND aggregate = $2",
            tombstones,
            envelope.aggregate,
        )
    )
