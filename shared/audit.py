"""An organizer's write told to the audit log from surveys and notifications: ``organizer.acted``
in the service's outbox, in the write's transaction, which engagement applies to its
``audit_log`` (one log for the platform, read by admins there). A write that is refused or rolled
back tells nothing; one that commits is told once (the consumer's inbox drops a redelivery)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

from aiohttp import web

from shared.auth import Account
from shared.contracts import OrganizerActed
from shared.db import DbConnection
from shared.http import SERVICE, request_id
from shared.outbox import emit


@dataclass(frozen=True)
class Acting:
    """Who writes, in which service and request: what each audit entry names."""

    account: Account
    service: str
    request_id: str

    @classmethod
    def of(cls, request: web.Request, account: Account) -> Self:
        """``account`` as ``shared.auth.check`` (or ``requires``) found it for ``request``."""
        return cls(account, request.app[SERVICE], request_id(request))

    async def record(self, conn: DbConnection, action: str, target: str) -> None:
        """``action`` on ``target``, told in the caller's transaction (``emit`` refuses outside one)."""
        event = OrganizerActed(
            account_id=self.account.id,
            roles=tuple(self.account.roles_text()),
            action=action,
            target=target,
            service=self.service,
            request_id=self.request_id,
            acted_at=datetime.now(UTC),
        )
        await emit(
            conn,
            event,
            producer=self.service,
            correlation_id=self.request_id,
            actor=f"account:{self.account.id}",
        )
