"""Who writes, in which request: the base of every organizer write's writer, so each audit
entry names the account, its roles, the service and the request id in the write's transaction."""

from dataclasses import dataclass
from typing import Self

import asyncpg
from aiohttp import web

from services.engagement.accounts import store
from shared.auth import Account
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
