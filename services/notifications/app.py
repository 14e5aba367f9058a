"""Notifications' wiring."""

from pathlib import Path

from services.notifications import api, handlers, mail, survey_notices
from services.notifications.deliveries import routes, sender, writing
from services.notifications.reminders import schedule
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="notifications",
    directory=Path(__file__).parent,
    add_routes=api.add_routes,
    public_paths=("/notifications/", "/api/v1/notifications"),
    subscriptions=(handlers.PEOPLE, survey_notices.INVITATIONS, writing.NOTICES),
    operations=routes.OPERATIONS,
    background=(mail.send_outgoing_mail, sender.send_notices, schedule.run_reminders),
)
