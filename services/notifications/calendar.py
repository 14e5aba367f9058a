"""The calendar entry attached to a meeting's notice (RFC 5545, with RFC 5546's methods), so the
entry in a person's calendar appears, moves and disappears by itself: one UID per meeting,
METHOD:REQUEST when they hold a seat and on every change (SEQUENCE is the meeting's change
count, higher on every change), METHOD:CANCEL with STATUS:CANCELLED when the meeting is
cancelled or they cancelled their seat. Times carry the meeting's TZID with its VTIMEZONE, so
the local time the host chose shows whatever the reader's zone."""

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Literal
from zoneinfo import ZoneInfo

import icalendar

Method = Literal["REQUEST", "CANCEL"]
PRODID = "-//Civic engagement platform//Notices//EN"


@dataclass(frozen=True)
class Entry:
    meeting_id: str
    sequence: int
    title: str
    starts_at: datetime  # aware
    ends_at: datetime
    time_zone: str
    location: str | None
    url: str | None
    organizer: str  # "Name <address>"
    attendee_name: str
    attendee_email: str


def uid(meeting_id: str) -> str:
    return f"meeting-{meeting_id}@civic.invalid"


def invite(entry: Entry, method: Method, now: datetime | None = None) -> bytes:
    zone = ZoneInfo(entry.time_zone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", uid(entry.meeting_id))
    event.add("sequence", entry.sequence)
    event.add("dtstamp", now or datetime.now(UTC))
    event.add("dtstart", entry.starts_at.astimezone(zone))
    event.add("dtend", entry.ends_at.astimezone(zone))
    event.add("summary", entry.title)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if entry.location:
        event.add("location", entry.location)
    if entry.url:
        event.add("url", entry.url)
    name, address = parseaddr(entry.organizer)
    organizer = icalendar.vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = name or address
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{entry.attendee_email}")
    attendee.params["cn"] = entry.attendee_name
    attendee.params["role"] = "REQ-PARTICIPANT"
    attendee.params["partstat"] = "ACCEPTED"
    attendee.params["rsvp"] = "FALSE"
    event.add("attendee", attendee)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
