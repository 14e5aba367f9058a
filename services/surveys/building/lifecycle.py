"""Where a survey is in its life, from its status and its schedule. No I/O.

An organizer moves a survey draft -> open -> closed; an open survey may wait for ``opens_at`` and
ends by itself at ``closes_at``. Nothing has to run at those times: the phase is worked out from
the clock whenever it is asked, so a schedule holds across restarts and on every replica."""

from datetime import datetime
from enum import StrEnum


class Phase(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # open, but opens_at is still ahead
    OPEN = "open"
    CLOSED = "closed"


def phase(status: str, opens_at: datetime | None, closes_at: datetime | None, now: datetime) -> Phase:
    if status == "draft":
        return Phase.DRAFT
    if status == "closed" or (closes_at is not None and now >= closes_at):
        return Phase.CLOSED
    if opens_at is not None and now < opens_at:
        return Phase.SCHEDULED
    return Phase.OPEN
