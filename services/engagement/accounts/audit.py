"""Who writes, in which request: the base of every organizer write's writer, so each audit
entry names the account, its roles, the service and the request id in the write's transaction.
Surveys' and notifications' organizer writes reach the same log by event (``organizer.acted``,
emitted in their write's transaction: shared/audit.py), applied here once each."""

from dataclasses import dataclass
from typing import Self

import asyncpg
from aiohttp import web

from services.engagement.accounts import store
from shared.auth import Account
from shared.consumer import Subscription
from shared.contracts import Envelope, OrganizerActed
from shared.db import DbConnection
from shared.http import POOL, SERVICE, request_id


@dataclass(frozen=True)
class AuditedWriter:
    pool: asyncpg.Pool
    account: Account
    service: str
    request_id: str

    @classmethod
    def of(cls, request: web.Request, account: Account) -> Self:
        return cls(request.app[POOL], account, request.app[SERVICE], request_id(request))

    async def _audit(self, conn: DbConnection, action: str, target: str) -> None:
        await store.record_action(
            conn, self.account.id, self.account.roles_text(), action, target, self.service, self.request_id
        )


async def on_organizer_acted(event: OrganizerActed, conn: DbConnection, envelope: Envelope) -> None:
    """The entry as the other service made it, at the time of its write. Once per event: the
    consumer writes the event's inbox row in this transaction, so a redelivery adds no row."""
    await store.record_action(
        conn,
        event.account_id,
        event.roles,
        event.action,
        event.target,
        event.service,
        event.request_id,
        at=event.acted_at,
    )


AUDIT = Subscription("engagement.audit", {OrganizerActed: on_organizer_acted})
