"""Quiet hours: a window of the person's local day in which campaign messages wait. The window
may wrap midnight (22:00-07:00); its start belongs to it, its end does not."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def quiet_until(now: datetime, start: time, end: time, time_zone: str) -> datetime | None:
    """When the quiet window holding ``now`` (aware) ends, as an aware UTC-comparable instant;
    None when ``now`` is outside it (or the window is empty, start equal to end)."""
    if start == end:
        return None
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    wraps = start > end
    inside = (clock >= start or clock < end) if wraps else (start <= clock < end)
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if wraps and clock >= start else local.date()
    # Built as wall-clock time in the zone: across a DST change the window still ends at `end`.
    return datetime.combine(day, end, tzinfo=zone)
