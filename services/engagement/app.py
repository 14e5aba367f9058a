"""Engagement's wiring: routes, (future) subscriptions, directory of migrations and templates."""

from pathlib import Path

from services.engagement import api, throttle
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="engagement",
    directory=Path(__file__).parent,
    add_routes=api.add_routes,
    public_paths=("= /", "/engagement/", "/api/v1/people", "/confirm/"),
    operations=api.OPERATIONS,
    background=(throttle.forget_old_attempts,),
)
