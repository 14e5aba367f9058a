"""Engagement's organisations by name (``organisation.named``), so the console can show and
choose them: surveys otherwise knows an organisation only by the id in an organizer's role.

A rename can overtake the creation on the bus (a retry comes back later): the newest event of
each ``organisation:<id>`` wins, an older one changes nothing (shared/ordering.py)."""

from shared.consumer import Subscription
from shared.contracts import Envelope, OrganisationNamed
from shared.db import DbConnection
from shared.ordering import newer_than_applied

PROJECTION = "surveys.organisations"


async def on_organisation_named(event: OrganisationNamed, conn: DbConnection, envelope: Envelope) -> None:
    if not await newer_than_applied(conn, PROJECTION, envelope):
        return
    await conn.execute(
        """INSERT INTO organisations (id, name) VALUES ($1, $2)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name""",
        event.organisation_id,
        event.name,
    )


ORGANISATIONS = Subscription(PROJECTION, {OrganisationNamed: on_organisation_named})
