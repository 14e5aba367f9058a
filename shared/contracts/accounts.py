"""``organizer.acted``: an organizer's write in surveys or notifications, for engagement's audit
log (engagement's own writes go straight into it). Emitted in the write's transaction, so the
entry exists exactly when the write does; engagement's consumer applies each event once.

Who acted is an account id and the roles it held: no name, no address. The target names what
was acted on (``survey:<id>``, ``meeting:<id>``), never a person: the log is append-only, so a
person's id in it could not be erased."""

from datetime import datetime
from uuid import UUID

from pydantic import Field

from shared.contracts.envelope import Event


class OrganizerActed(Event):
    type = "organizer.acted"

    account_id: UUID
    roles: tuple[str, ...] = Field(
        max_length=200, description="admin, organizer:<organisation id>, cop_lead:<CoP id>, as held then"
    )
    action: str = Field(min_length=1, max_length=100, description="what was done, e.g. survey.opened")
    target: str = Field(min_length=1, max_length=300, description="what it was done to, e.g. survey:<id>")
    service: str = Field(pattern=r"^[a-z_]+$", max_length=40, description="the service written to")
    request_id: str = Field(min_length=1, max_length=100)
    acted_at: datetime
