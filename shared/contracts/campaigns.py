"""Events about campaigns: an organisation's outreach to an audience it defines.

An audience is a definition (regions, ZIP codes, CoPs, tags of people, imported lists of people
named by the import's id), never a list of people:
``campaign.launched`` names who is meant, and no one's contact data travels with it. Whoever
sends later resolves the audience against people's current consent.

Only engagement can resolve a definition to people (it alone holds their ZIP codes, regions,
memberships and tags), so at the launch, in its transaction, it lists the audience's people in
``campaign.audience_listed``: pseudonymous ids and languages, what surveys needs to invite them
and notifications to send the campaign's news, and nothing to reach them by."""

from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.envelope import Event

ZipCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]
# A tag on people ("manufacturing", "youth council"), as people imports store them: lower case,
# 1 to 40 characters, no comma or semicolon (the separators of forms and files).
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[^\x00-\x1f\x7f-\x9f,;]{1,40}$")
]
MAX_PARTS = 50


class Audience(BaseModel):
    """Who a campaign is for: anyone in any of the regions (by their ZIP code), in any of the ZIP
    codes, a member of any of the CoPs, tagged with any of the tags, or brought in by any of the
    imports of people. Each list without repeats."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region_ids: tuple[UUID, ...] = Field(default=(), max_length=MAX_PARTS)
    zip_codes: tuple[ZipCode, ...] = Field(default=(), max_length=200)
    cop_ids: tuple[UUID, ...] = Field(default=(), max_length=MAX_PARTS)
    tags: tuple[Tag, ...] = Field(default=(), max_length=MAX_PARTS)
    # Added after the first campaigns were announced: a default, so an event without it still
    # reads (no imported lists), and still version 1.
    import_ids: tuple[UUID, ...] = Field(
        default=(), max_length=MAX_PARTS, description="imports of people (their ids), each a list"
    )

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        for name in ("region_ids", "zip_codes", "cop_ids", "tags", "import_ids"):
            parts = getattr(self, name)
            if len(set(parts)) != len(parts):
                raise ValueError(f"{name} names one twice")
        return self


class CampaignLaunched(Event):
    """A campaign left its draft: its audience is fixed from now on. Ids and the definition only."""

    type = "campaign.launched"

    campaign_id: UUID
    organisation_id: UUID
    title: str = Field(min_length=1, max_length=200)
    audience: Audience
    launched_at: datetime
    # Added later: absent in the first events, read as none. Its news links to each.
    meeting_ids: tuple[UUID, ...] = Field(default=(), max_length=MAX_PARTS, description="linked meetings")


class AudienceMember(BaseModel):
    """One person of a campaign's audience: pseudonymous, with the language to write to them in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: UUID
    language: str = Field(min_length=2, max_length=20)


MAX_LISTED = 1000  # audience members per campaign.audience_listed: about 70 kB of JSON


class CampaignAudienceListed(Event):
    """A launched campaign's audience, resolved to people at the launch, in parts of up to
    MAX_LISTED: who is in the audience is known only to engagement. Surveys invites them to the
    campaign's linked surveys (none, for a campaign without one); notifications sends them its
    news. Ids and languages only, no contact data: the mail goes out, or not, by notifications'
    own record of consent."""

    type = "campaign.audience_listed"

    campaign_id: UUID
    organisation_id: UUID
    # Empty allowed since campaigns without a survey list their audience too (for their news);
    # surveys' older consumers, reading the linked surveys, invite no one from such a part.
    survey_ids: tuple[UUID, ...] = Field(max_length=MAX_PARTS)
    part: int = Field(ge=1, description="this part's number, from 1")
    parts: int = Field(ge=1, description="how many parts the audience was listed in")
    members: tuple[AudienceMember, ...] = Field(min_length=1, max_length=MAX_LISTED)

    @model_validator(mode="after")
    def _part_of_parts(self) -> Self:
        if self.part > self.parts:
            raise ValueError("part is beyond parts")
        return self
