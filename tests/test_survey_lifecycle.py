"""A survey's phase from its status and schedule."""

from datetime import UTC, datetime, timedelta

from services.surveys.building.lifecycle import Phase, phase

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_draft_is_a_draft_whatever_its_schedule() -> None:
    assert phase("draft", NOW - HOUR, NOW + HOUR, NOW) is Phase.DRAFT


def test_an_open_survey_waits_for_its_opening_and_ends_at_its_close() -> None:
    assert phase("open", NOW + HOUR, None, NOW) is Phase.SCHEDULED
    assert phase("open", NOW - HOUR, NOW + HOUR, NOW) is Phase.OPEN
    assert phase("open", NOW - 2 * HOUR, NOW, NOW) is Phase.CLOSED
    assert phase("open", None, None, NOW) is Phase.OPEN


def test_closed_by_its_organizer_before_its_close() -> None:
    assert phase("closed", None, NOW + HOUR, NOW) is Phase.CLOSED
