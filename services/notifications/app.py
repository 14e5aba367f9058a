"""Notifications' wiring."""

from pathlib import Path

from services.notifications import api, handlers, invitations, mail
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="notifications",
    directory=Path(__file__).parent,
    add_routes=api.add_routes,
    public_paths=("/notifications/", "/api/v1/notifications"),
    subscriptions=(handlers.PEOPLE, invitations.INVITATIONS),
    background=(mail.send_outgoing_mail,),
)
