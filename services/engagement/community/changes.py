"""Every write an organizer, a lead or an admin makes to organisations and CoPs, and a resident
leaving a CoP, each with its audit entry in the same transaction: the API, the console pages and
the resident's page all write through here."""

import uuid
from enum import Enum
from uuid import UUID

import asyncpg

from services.engagement.accounts import store as accounts_store
from services.engagement.accounts.audit import AuditedWriter
from services.engagement.community import store
from services.engagement.community.models import CopFields, NewMember, OrganisationFields
from shared.contracts import OrganisationNamed
from shared.db import DbConnection
from shared.outbox import emit


class Refusal(Enum):
    """Why a write was refused, and the field it is about (None: the whole request)."""

    NAME_TAKEN = ("name", 409)
    TOPIC_TAKEN = ("topic", 409)
    UNKNOWN_REGION = ("region_id", 422)
    UNKNOWN_PERSON = ("person_id", 422)
    UNKNOWN_ORGANISATION = ("organisation_id", 422)
    ALREADY_MEMBER = (None, 409)
    NOT_FOUND = (None, 404)

    @property
    def field(self) -> str | None:
        return self.value[0]

    @property
    def status(self) -> int:
        return self.value[1]


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.name)
        self.refusal = refusal


async def announce_name(
    conn: DbConnection, organisation_id: UUID, name: str, correlation_id: str | None, actor: str | None
) -> None:
    """``organisation.named``, in the transaction that created or changed the organisation:
    the other services know organisations by id only, and show them by this name."""
    await emit(
        conn,
        OrganisationNamed(organisation_id=organisation_id, name=name),
        producer="engagement",
        correlation_id=correlation_id,
        actor=actor,
        aggregate=f"organisation:{organisation_id}",
    )


class Writer(AuditedWriter):
    """Organisations' and CoPs' writes, each with its audit entry."""

    async def save_organisation(self, organisation_id: UUID | None, fields: OrganisationFields) -> UUID:
        """Create (no id) or change an organisation; its id."""
        saved = organisation_id or uuid.uuid4()
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if organisation_id is None:
                    await store.insert_organisation(conn, saved, fields)
                elif not await store.update_organisation(conn, saved, fields):
                    raise Refused(Refusal.NOT_FOUND)
                action = "organisation.changed" if organisation_id else "organisation.created"
                await self._audit(conn, action, f"organisation:{saved}")
                await announce_name(conn, saved, fields.name, self.request_id, f"account:{self.account.id}")
        except asyncpg.UniqueViolationError as exc:
            raise Refused(Refusal.NAME_TAKEN) from exc
        except asyncpg.ForeignKeyViolationError as exc:
            raise Refused(Refusal.UNKNOWN_REGION) from exc
        return saved

    async def save_cop(self, cop_id: UUID | None, fields: CopFields) -> UUID:
        saved = cop_id or uuid.uuid4()
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                if cop_id is None:
                    await store.insert_cop(conn, saved, fields)
                elif not await store.update_cop(conn, saved, fields):
                    raise Refused(Refusal.NOT_FOUND)
                await self._audit(conn, "cop.changed" if cop_id else "cop.created", f"cop:{saved}")
        except asyncpg.UniqueViolationError as exc:
            raise Refused(Refusal.TOPIC_TAKEN) from exc
        return saved

    async def add_member(self, cop_id: UUID, member: NewMember) -> UUID:
        """Add a person or an organisation; a person's request to join, if any, is settled."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                added = await store.add_member(
                    conn, uuid.uuid4(), cop_id, member.person_id, member.organisation_id
                )
                if added is None:
                    raise Refused(Refusal.ALREADY_MEMBER)
                await self._audit(conn, "cop.member_added", f"cop:{cop_id} member:{added}")
        except asyncpg.ForeignKeyViolationError as exc:
            refusal = {
                "cop_members_cop_id_fkey": Refusal.NOT_FOUND,
                "cop_members_person_id_fkey": Refusal.UNKNOWN_PERSON,
            }.get(exc.constraint_name or "", Refusal.UNKNOWN_ORGANISATION)
            raise Refused(refusal) from exc
        return added

    async def remove_member(self, cop_id: UUID, member_id: UUID) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await store.remove_member(conn, cop_id, member_id):
                raise Refused(Refusal.NOT_FOUND)
            await self._audit(conn, "cop.member_removed", f"cop:{cop_id} member:{member_id}")

    async def dismiss_join_request(self, cop_id: UUID, join_request_id: UUID) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await store.dismiss_join_request(conn, cop_id, join_request_id):
                raise Refused(Refusal.NOT_FOUND)
            await self._audit(conn, "cop.join_request_dismissed", f"cop:{cop_id} request:{join_request_id}")


# The audit entry's role for a resident acting on their own page: they hold no account.
RESIDENT = "person"


async def leave(pool: asyncpg.Pool, cop_id: UUID, person_id: UUID, service: str, request_id: str) -> bool:
    """The person's own membership removed, as the person did it; False when they were not a
    member (nothing changes). The audit log names accounts and a resident has none: their
    person id stands in its account column (it references no table) beside the role
    ``person``, so the entry says the person did it and no organizer did."""
    async with pool.acquire() as conn, conn.transaction():
        member_id = await store.remove_person(conn, cop_id, person_id)
        if member_id is None:
            return False
        target = f"cop:{cop_id} member:{member_id}"
        await accounts_store.record_action(
            conn, person_id, [RESIDENT], "cop.member_left", target, service, request_id
        )
    return True
