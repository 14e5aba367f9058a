"""A service whose event handlers fail while a flag file exists: the fault harness makes a handler
fail for a while and then recover without any test hook in services/.

    CIVIC_FAULTS_FAIL_FLAG=/path/to/flag python -m bench.faults.flaky surveys run --roles consumer
"""

import dataclasses
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from shared.consumer import Handler, Subscription
from shared.contracts import Envelope
from shared.db import DbConnection
from shared.runtime import ServiceSpec, main

FLAG_ENV = "CIVIC_FAULTS_FAIL_FLAG"


class InjectedFailure(RuntimeError):
    pass


def failing_while(flag: Path, handler: Handler) -> Handler:
    async def handle(event: Any, conn: DbConnection, envelope: Envelope) -> None:
        # The real effect first, then the failure: its rollback is under test as well.
        await handler(event, conn, envelope)
        if flag.exists():
            raise InjectedFailure(f"failing while {flag} exists")

    return handle


def flaky(spec: ServiceSpec, flag: Path) -> ServiceSpec:
    subscriptions = tuple(
        Subscription(sub.consumer, {contract: failing_while(flag, handler)
                                    for contract, handler in sub.handlers.items()})
        for sub in spec.subscriptions
    )
    return dataclasses.replace(spec, subscriptions=subscriptions)


if __name__ == "__main__":
    service = sys.argv.pop(1)
    main(flaky(importlib.import_module(f"services.{service}.app").SPEC, Path(os.environ[FLAG_ENV])))
