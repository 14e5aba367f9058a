"""Every write an admin makes to accounts, and an account changing its own password, each with
its audit entry in the same transaction: the API and the console's pages both write through here.

A change that takes something away acts on the next request without more: nginx asks about the
session every time and the answer reads the account's flag and roles as they are then. Disabling
also ends the account's sessions, so enabling it again does not bring back a browser left signed
in. An admin cannot disable their own account or remove their own admin role, and every such
change is made under one lock by an admin found still enabled inside it: the platform always
keeps an admin who can undo a mistake."""

import secrets
import uuid
from datetime import timedelta
from enum import Enum
from typing import NamedTuple
from uuid import UUID

from services.engagement.accounts import store
from services.engagement.accounts.audit import AuditedWriter
from services.engagement.accounts.credentials import hash_password, password_matches
from services.engagement.accounts.models import NewAccount
from shared.auth import Grant, Role
from shared.db import DbConnection

# A generated first password: 20 letters and digits in four groups, none that read alike
# (0/o, 1/l/i), about 100 bits; easy to read out or type from a phone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_GROUPS, _GROUP = 4, 5


def new_password() -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(_GROUP)) for _ in range(_GROUPS))


class Why(NamedTuple):
    field: str | None  # the field a refusal is about; None: the whole request
    status: int
    detail: str  # as the API says it (the pages say it in the reader's language)


class Refusal(Enum):
    EMAIL_TAKEN = Why("email", 409, "an account with this e-mail address exists already")
    UNKNOWN_SCOPE = Why("scope", 422, "no organisation (organizer) or CoP (cop_lead) has this id")
    NOT_FOUND = Why(None, 404, "no such account, or it does not hold this role")
    OWN_ADMIN_ROLE = Why(None, 409, "you cannot remove your own admin role: another admin can")
    OWN_ACCOUNT = Why(None, 409, "you cannot disable your own account: another admin can")
    NO_LONGER_ADMIN = Why(None, 403, "your account is no longer an enabled admin")
    WRONG_PASSWORD = Why("current_password", 422, "this is not the account's password")


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.name)
        self.refusal = refusal


class Writer(AuditedWriter):
    """Accounts' writes, each with its audit entry."""

    async def create_account(self, new: NewAccount) -> UUID:
        """An account with its roles; refused when the address has one already."""
        password_hash = await hash_password(new.password)
        account_id = uuid.uuid4()
        async with self.pool.acquire() as conn, conn.transaction():
            if not await store.insert_account(conn, account_id, new.email, new.display_name, password_hash):
                raise Refused(Refusal.EMAIL_TAKEN)
            await store.grant(conn, account_id, new.roles)
            await self._audit(conn, "account.created", f"account:{account_id}")
        return account_id

    async def grant_role(self, account_id: UUID, grant: Grant) -> None:
        """The role held from the next request on; one held already changes nothing."""
        async with self.pool.acquire() as conn, conn.transaction():
            if await store.account(conn, account_id) is None:
                raise Refused(Refusal.NOT_FOUND)
            if not await store.scope_exists(conn, grant):
                raise Refused(Refusal.UNKNOWN_SCOPE)
            if await store.grant(conn, account_id, [grant]):
                await self._audit(conn, "account.role_granted", _target(account_id, grant))

    async def remove_role(self, account_id: UUID, grant: Grant) -> None:
        """Refused when the account does not hold it. Nothing else to end: the session check
        reads the roles on every request, so the next one is made without it."""
        if account_id == self.account.id and grant.role is Role.ADMIN:
            raise Refused(Refusal.OWN_ADMIN_ROLE)
        async with self.pool.acquire() as conn, conn.transaction():
            await self._as_admin_still(conn)
            if not await store.revoke(conn, account_id, grant):
                raise Refused(Refusal.NOT_FOUND)
            await self._audit(conn, "account.role_removed", _target(account_id, grant))

    async def set_disabled(self, account_id: UUID, disabled: bool) -> None:
        """Disabled: its sessions end in the same transaction. Either, as it was already:
        nothing is recorded."""
        if disabled and account_id == self.account.id:
            raise Refused(Refusal.OWN_ACCOUNT)
        async with self.pool.acquire() as conn, conn.transaction():
            if disabled:
                await self._as_admin_still(conn)
            was = await store.set_disabled(conn, account_id, disabled)
            if was is None:
                raise Refused(Refusal.NOT_FOUND)
            if disabled:
                await store.end_sessions(conn, account_id)
            if was != disabled:
                action = "account.disabled" if disabled else "account.enabled"
                await self._audit(conn, action, f"account:{account_id}")

    async def change_password(
        self, email: str, current: str, new: str, session_hash: bytes, lifetime: timedelta
    ) -> None:
        """The writer's own password, when ``current`` is it. Every session of the account ends
        (one left signed in elsewhere, perhaps by whoever learnt the old password) and the one
        ``session_hash`` names starts, for the browser that asked: its id rotates."""
        found = await store.find_for_login(self.pool, email)
        known = found["password_hash"] if found is not None and found["id"] == self.account.id else None
        if not await password_matches(known, current):
            raise Refused(Refusal.WRONG_PASSWORD)
        password_hash = await hash_password(new)
        async with self.pool.acquire() as conn, conn.transaction():
            await store.set_password(conn, email, password_hash)
            await store.end_sessions(conn, self.account.id)
            await store.start_session(conn, session_hash, self.account.id, lifetime, None)
            await self._audit(conn, "account.password_changed", f"account:{self.account.id}")

    async def _as_admin_still(self, conn: DbConnection) -> None:
        """Serialise the changes that take admin away, made only by an enabled admin: of two
        admins disabling each other at once, the second finds itself disabled and is refused."""
        await store.lock_admins(conn)
        if not await store.is_enabled_admin(conn, self.account.id):
            raise Refused(Refusal.NO_LONGER_ADMIN)


def _target(account_id: UUID, grant: Grant) -> str:
    return f"account:{account_id} role:{grant}"
