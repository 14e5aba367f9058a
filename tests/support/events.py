"""An event contract of the tests' own, so plumbing tests do not depend on the platform's."""

from uuid import UUID

from shared.contracts import Event


class ThingHappened(Event):
    type = "thing.happened"

    thing_id: UUID
    name: str
    value: str = ""
