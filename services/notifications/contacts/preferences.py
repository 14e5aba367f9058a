"""What the preferences form accepts: the quiet window as two times of day and a time zone
(both times or neither). Pure."""

from collections.abc import Mapping
from datetime import time
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class QuietHours(NamedTuple):
    start: time | None
    end: time | None
    time_zone: str | None


def _time(value: str) -> time | None:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(second=0, microsecond=0) if parsed.tzinfo is None else None


def quiet_hours(typed: Mapping[str, str]) -> tuple[QuietHours | None, dict[str, str]]:
    """The window typed, or the names of the fields at fault: 'start', 'end', 'time_zone'."""
    start, end, zone = (typed.get(name, "").strip() for name in ("quiet_start", "quiet_end", "time_zone"))
    if not start and not end:
        return QuietHours(None, None, zone or None), {}
    errors: dict[str, str] = {}
    parsed_start, parsed_end = _time(start), _time(end)
    if parsed_start is None:
        errors["quiet_start"] = "time"
    if parsed_end is None:
        errors["quiet_end"] = "time"
    try:
        if not zone or "/" not in zone:
            raise ZoneInfoNotFoundError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["time_zone"] = "zone"
    if errors:
        return None, errors
    return QuietHours(parsed_start, parsed_end, zone), {}
