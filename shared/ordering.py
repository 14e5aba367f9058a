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
