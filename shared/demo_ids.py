"""Fixed ids of demo records that one service's demo loader makes and another's refers to,
worked out here from their names so that neither loader imports the other service's code: the
demo's surveys (made by surveys' loader, consulted by engagement's demo decision)."""

import uuid
from uuid import UUID

NAMESPACE = uuid.UUID("9c3e5a71-2f4d-4b86-8e0a-6d1f7b2c4e93")


def survey_id(slug: str) -> UUID:
    """The id of the demo survey whose link is ``slug``."""
    return uuid.uuid5(NAMESPACE, f"survey:{slug}")


NORTHSIDE_SURVEY_SLUG = "demo-northside-site"
