"""Events about organisations, for the services that show them by name (surveys' console)."""

from uuid import UUID

from pydantic import Field

from shared.contracts.envelope import Event


class OrganisationNamed(Event):
    """An organisation was created or renamed: its name now. A consumer keeps the newest by the
    aggregate's sequence (``organisation:<id>``)."""

    type = "organisation.named"

    organisation_id: UUID
    name: str = Field(min_length=1, max_length=200)
