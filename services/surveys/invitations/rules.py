"""Which surveys take invitations, and how pasted person ids are read. No I/O.

A survey takes invitations when its access is invited or both, and it is open or scheduled to
open: a draft may still change (and could be deleted), a link to it would open nothing yet, and
a closed survey takes no more answers. The mail goes out as soon as the invitation is issued,
so an invitation is only issued when its link leads somewhere."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from services.surveys.building.lifecycle import Phase, phase

MAX_ON_DEMAND = 1000  # person ids per request, as many as one part of a campaign's audience


class NoInvitations(StrEnum):
    """Why a survey takes no invitations now."""

    PUBLIC_ONLY = "public_only"
    NOT_OPEN_YET = "draft"
    CLOSED = "closed"


def refusal(
    access: str, status: str, opens_at: datetime | None, closes_at: datetime | None, now: datetime
) -> NoInvitations | None:
    if access == "public":
        return NoInvitations.PUBLIC_ONLY
    match phase(status, opens_at, closes_at, now):
        case Phase.DRAFT:
            return NoInvitations.NOT_OPEN_YET
        case Phase.CLOSED:
            return NoInvitations.CLOSED
    return None


def person_ids(typed: str) -> tuple[list[UUID], list[int]]:
    """The ids pasted one per line (blank lines skipped, each once, in their order), and the
    numbers of the lines (from 1) that are not an id."""
    ids: dict[UUID, None] = {}
    bad = []
    for number, line in enumerate(typed.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            ids[UUID(line.strip())] = None
        except ValueError:
            bad.append(number)
    return list(ids), bad
