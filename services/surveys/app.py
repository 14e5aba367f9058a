"""Surveys' wiring."""

from pathlib import Path

from services.surveys import api, handlers, regions
from services.surveys.answering.release import keep_releasing
from services.surveys.building.organisations import ORGANISATIONS
from services.surveys.invitations.handlers import CAMPAIGNS
from services.surveys.invitations.reminders import keep_reminding
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="surveys",
    directory=Path(__file__).parent,
    add_routes=api.add_routes,
    public_paths=("/surveys/", "/api/v1/surveys"),
    subscriptions=(handlers.PEOPLE, ORGANISATIONS, regions.REGIONS, CAMPAIGNS),
    operations=api.OPERATIONS,
    background=(keep_releasing, keep_reminding),
)
