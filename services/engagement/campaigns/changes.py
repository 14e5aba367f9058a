"""Every write to campaigns, each with its audit entry in the same transaction; a launch also
with its ``campaign.launched`` event in the outbox, and its audience listed for the linked
surveys (listing.py). The API and the console pages both write through here. Each write locks
the campaign first, so the rules are checked against the status it has when it changes, and
against the organisation it belongs to then."""

import uuid
from enum import Enum
from typing import NamedTuple
from uuid import UUID

import asyncpg

from services.engagement.accounts.audit import AuditedWriter
from services.engagement.campaigns import listing, store
from services.engagement.campaigns.models import CampaignFields, CampaignStatus, Step, after, editable
from shared.auth import organisation
from shared.contracts import Audience, CampaignLaunched
from shared.db import DbConnection
from shared.outbox import emit

PRODUCER = "engagement"


class Why(NamedTuple):
    field: str | None  # the field a refusal is about; None: the whole request
    status: int
    detail: str  # also what tells two refusals of one field and status apart


class Refusal(Enum):
    """Why a write was refused."""

    UNKNOWN_ORGANISATION = Why("organisation_id", 422, "no such organisation")
    UNKNOWN_REGION = Why("audience.region_ids", 422, "no such region")
    UNKNOWN_COP = Why("audience.cop_ids", 422, "no such CoP")
    UNKNOWN_IMPORT = Why("audience.import_ids", 422, "no such import")
    NOT_A_DRAFT = Why("status", 409, "only a draft can be changed or launched")
    NOT_LAUNCHED = Why("status", 409, "only a launched campaign can be closed")
    NOT_YOURS = Why(None, 403, "not a campaign of your organisations")
    NOT_FOUND = Why(None, 404, "no such campaign")


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.name)
        self.refusal = refusal


_FOREIGN_KEYS = {
    "campaign_regions_region_id_fkey": Refusal.UNKNOWN_REGION,
    "campaign_cops_cop_id_fkey": Refusal.UNKNOWN_COP,
    # Any import may be named, by any organizer: an import belongs to no organisation (any
    # organizer may import, people/pages.py), and targeting a list sends nothing by itself, as
    # with a region, whose people belong to no organisation either. Who did is in the audit entry.
    "campaign_import_lists_import_id_fkey": Refusal.UNKNOWN_IMPORT,
    "campaigns_organisation_id_fkey": Refusal.UNKNOWN_ORGANISATION,
}


class Writer(AuditedWriter):
    """Campaigns' writes, each with its audit entry (and a launch with its event)."""

    async def _lock(self, conn: DbConnection, campaign_id: UUID) -> CampaignStatus:
        """The campaign's status, once it is locked and known to be the account's to change."""
        row = await store.lock(conn, campaign_id)
        if row is None:
            raise Refused(Refusal.NOT_FOUND)
        if not organisation(row["organisation_id"]).met_by(self.account):
            raise Refused(Refusal.NOT_YOURS)
        return CampaignStatus(row["status"])

    async def save(self, campaign_id: UUID | None, fields: CampaignFields) -> UUID:
        """Create (no id) or change a draft; its id. The caller has checked the account may
        write for ``fields.organisation_id``."""
        saved = campaign_id or uuid.uuid4()
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if campaign_id is None:
                    await store.insert(conn, saved, fields)
                else:
                    if not editable(await self._lock(conn, saved)):
                        raise Refused(Refusal.NOT_A_DRAFT)
                    await store.update(conn, saved, fields)
                await self._audit(
                    conn, "campaign.changed" if campaign_id else "campaign.created", f"campaign:{saved}"
                )
        except asyncpg.ForeignKeyViolationError as exc:
            raise Refused(_FOREIGN_KEYS.get(exc.constraint_name or "", Refusal.NOT_FOUND)) from exc
        return saved

    async def take(self, campaign_id: UUID, step: Step) -> None:
        """Launch or close. A launch announces the campaign in the same transaction: if the
        event cannot be written, the campaign stays a draft."""
        async with self.pool.acquire() as conn, conn.transaction():
            status = after(await self._lock(conn, campaign_id), step)
            if status is None:
                raise Refused(Refusal.NOT_A_DRAFT if step is Step.LAUNCH else Refusal.NOT_LAUNCHED)
            await store.set_status(conn, campaign_id, status)
            await self._audit(conn, f"campaign.{status.value}", f"campaign:{campaign_id}")
            if status is CampaignStatus.LAUNCHED:
                await self._announce(conn, campaign_id)

    async def _announce(self, conn: DbConnection, campaign_id: UUID) -> None:
        row = await store.campaign(conn, campaign_id)
        assert row is not None  # locked by this transaction
        event = CampaignLaunched(
            campaign_id=campaign_id,
            organisation_id=row["organisation_id"],
            title=row["title"],
            audience=Audience.model_validate_json(row["audience"]),
            launched_at=row["launched_at"],
            meeting_ids=tuple(row["meeting_ids"]),
        )
        await emit(
            conn,
            event,
            producer=PRODUCER,
            correlation_id=self.request_id,
            actor=f"account:{self.account.id}",
            aggregate=f"campaign:{campaign_id}",
        )
        await listing.list_audience(
            conn,
            campaign_id,
            event.organisation_id,
            event.audience,
            row["survey_ids"],
            producer=PRODUCER,
            correlation_id=self.request_id,
            actor=f"account:{self.account.id}",
        )
