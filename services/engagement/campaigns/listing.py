"""A launched campaign's audience, listed for its linked surveys and its news
(``campaign.audience_listed``).

The audience is a definition (regions, ZIP codes, CoPs, tags, imported lists), and only
engagement can tell who matches it. Surveys must invite each of them once, and notifications
tell each the campaign's news once (with a survey or without), so at the launch,
in the launch's transaction, the audience is resolved to people and listed in parts: a launch
that commits has listed everyone who was in the audience then, and one that fails has listed
no one. Later changes to people do not change who was invited, as the audience is fixed by the
launch; someone erased before the listing is not in ``people`` any more, and someone erased
after it is erased from the invitations by surveys (``person.erased``).

Only ids and languages are listed: whether a person is written to, and where, is
notifications' to decide from its own record of their consent."""

from collections.abc import Sequence
from uuid import UUID

from services.engagement.campaigns import store
from shared.contracts import Audience, AudienceMember, CampaignAudienceListed
from shared.contracts.campaigns import MAX_LISTED
from shared.db import DbConnection
from shared.outbox import emit


def parts(
    campaign_id: UUID,
    organisation_id: UUID,
    survey_ids: Sequence[UUID],
    members: Sequence[AudienceMember],
) -> list[CampaignAudienceListed]:
    """The audience in parts of up to MAX_LISTED, numbered from 1; none when there is no one."""
    if not members:
        return []
    chunks = [members[start : start + MAX_LISTED] for start in range(0, len(members), MAX_LISTED)]
    return [
        CampaignAudienceListed(
            campaign_id=campaign_id,
            organisation_id=organisation_id,
            survey_ids=tuple(survey_ids),
            part=n,
            parts=len(chunks),
            members=tuple(chunk),
        )
        for n, chunk in enumerate(chunks, start=1)
    ]


async def list_audience(
    conn: DbConnection,
    campaign_id: UUID,
    organisation_id: UUID,
    audience: Audience,
    survey_ids: Sequence[UUID],
    *,
    producer: str,
    correlation_id: str | None,
    actor: str,
) -> None:
    """Emit the launched campaign's audience, inside the launch's transaction."""
    members = [
        AudienceMember(person_id=row["person_id"], language=row["language"])
        for row in await store.audience_members(conn, audience)
    ]
    events = parts(campaign_id, organisation_id, survey_ids, members)
    if events:
        # Not numbered in the campaign's sequence: the parts are independent, and surveys
        # applies them in any order, as often as they come.
        await emit(conn, events, producer=producer, correlation_id=correlation_id, actor=actor)
