"""Engagement's wiring: routes, subscriptions, directory of migrations and templates."""

from pathlib import Path

from services.engagement import api, throttle
from services.engagement.accounts import api as accounts_api
from services.engagement.accounts import audit
from services.engagement.campaigns import contacted, responses
from services.engagement.decisions import handlers as decisions
from services.engagement.people import refusals, unsubscribes
from services.engagement.residents import pages as resident_pages
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="engagement",
    directory=Path(__file__).parent,
    add_routes=api.add_routes,
    public_paths=(
        "= /",
        "/engagement/",
        "/api/v1/people",
        "/confirm/",
        "= /login",
        "= /logout",
        "/console/",
        "/api/v1/accounts",
        "/api/v1/audit",
        "/api/v1/organisations",
        "/api/v1/cops",
        "/api/v1/regions",
        "/api/v1/campaigns",
        "/api/v1/meetings",
        "/meetings/",
        "/api/v1/decisions",
        "/api/v1/ledger",
        "/decisions",
        "/cops/",
        "= /me",
        "/me/",
    ),
    operations=api.OPERATIONS,
    subscriptions=(
        responses.RESPONSES,
        decisions.RESPONSES,
        contacted.CONTACTS,
        unsubscribes.UNSUBSCRIBES,
        refusals.REFUSALS,
        audit.AUDIT,
    ),
    background=(
        throttle.forget_old_attempts,
        accounts_api.forget_old_attempts,
        resident_pages.forget_expired,
    ),
)
