"""A sender's leases kept while it sends. The sweep records a row whose lease ran out as
interrupted (its sender is taken for dead), so a live sender slower than its lease (a slow SMTP
server, a loaded machine) renews the lease of what it has yet to send, and skips any row it no
longer holds: that row's outcome is the sweep's, and sending it now could make a second copy or
contradict the ``notification.failed`` already published for it."""

from collections.abc import Sequence
from uuid import UUID

from shared.db import DbConnection


async def renew(conn: DbConnection, token: UUID, ids: Sequence[int], lease_s: float) -> set[int]:
    """The rows of ``ids`` still held under ``token``, their lease extended by ``lease_s``."""
    rows = await conn.fetch(
        """UPDATE deliveries SET claimed_until = clock_timestamp() + $3 * interval '1 second'
           WHERE claim = $1 AND id = ANY ($2::bigint[]) AND claimed_until IS NOT NULL
           RETURNING id""",
        token,
        list(ids),
        lease_s,
    )
    return {row["id"] for row in rows}
