"""A service as the fault drills run it: the service's own code, watched from the outside.

    python -m bench.faults.audited SERVICE run --roles ROLE

What it adds, all in this process and none of it in services/:

- every effect a handler applies is also written, in the handler's own transaction, to
  ``faults.effects``, a table with no key at all: an event applied twice shows there as two rows,
  whatever the service's own tables allow (their keys would hide it);
- every message a consumer is handed is appended to the delivery log (``CIVIC_FAULTS_DELIVERY_LOG``),
  one JSON line before it is handled: redeliveries and retries are counted from it;
- with ``CIVIC_FAULTS_FAIL_FLAG``, handlers fail while that file exists (the failing-handler drill);
- with ``CIVIC_FAULTS_MUTANT=answer-before-commit``, a deliberately broken web role (bench.faults.mutants).
"""

import dataclasses
import importlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from aio_pika.abc import AbstractIncomingMessage
from aio_pika.queue import Queue

from shared.consumer import BatchHandler, Handler, Subscription
from shared.contracts import Envelope
from shared.db import DbConnection
from shared.runtime import ServiceSpec, main

FLAG_ENV = "CIVIC_FAULTS_FAIL_FLAG"
DELIVERY_LOG_ENV = "CIVIC_FAULTS_DELIVERY_LOG"
MUTANT_ENV = "CIVIC_FAULTS_MUTANT"

# Created by the harness in each round's database (bench.faults.audit.create_effect_log).
RECORD_EFFECT = """INSERT INTO faults.effects (consumer, event_id, person_id, pid)
                   VALUES ($1, $2, $3, pg_backend_pid())"""


class InjectedFailure(RuntimeError):
    pass


def audited(consumer: str, handler: Handler, fail_flag: Path | None) -> Handler:
    """The handler, recording each effect it applies; a BatchHandler stays one, so the drills
    run the consumer's set-based path as the service does."""

    async def record(conn: DbConnection, events: Sequence[tuple[Any, Envelope]]) -> None:
        # The real effect first, then its record and the injected failure: a rollback is under
        # test as well, and takes the record with it.
        await conn.executemany(
            RECORD_EFFECT, [(consumer, env.id, getattr(event, "person_id", None)) for event, env in events]
        )
        if fail_flag is not None and fail_flag.exists():
            raise InjectedFailure(f"failing while {fail_flag} exists")

    if isinstance(handler, BatchHandler):
        apply = handler.apply

        async def handle_many(conn: DbConnection, events: Sequence[tuple[Any, Envelope]]) -> None:
            await apply(conn, events)
            await record(conn, events)

        return BatchHandler(handle_many)

    async def handle(event: Any, conn: DbConnection, envelope: Envelope) -> None:
        await handler(event, conn, envelope)
        await record(conn, [(event, envelope)])

    return handle


def with_audit(spec: ServiceSpec, fail_flag: Path | None) -> ServiceSpec:
    subscriptions = tuple(
        Subscription(sub.consumer, {contract: audited(sub.consumer, handler, fail_flag)
                                    for contract, handler in sub.handlers.items()})
        for sub in spec.subscriptions
    )
    return dataclasses.replace(spec, subscriptions=subscriptions)


Callback = Callable[[AbstractIncomingMessage], Awaitable[Any]]


def log_deliveries(log: TextIO) -> None:
    """Every message aio-pika hands a consumer, logged before the consumer sees it. Hooked into
    aio-pika rather than into shared.consumer, so the consumer under test is the real one."""
    consume = Queue.consume

    async def logged_consume(self: Queue, callback: Callback, *args: Any, **kwargs: Any) -> Any:
        async def logging_callback(message: AbstractIncomingMessage) -> Any:
            headers = message.headers or {}
            log.write(json.dumps({
                "queue": self.name, "message_id": message.message_id, "redelivered": message.redelivered,
                "attempt": str(headers.get("x-attempt", 0)),
            }) + "\n")
            return await callback(message)

        return await consume(self, logging_callback, *args, **kwargs)

    Queue.consume = logged_consume  # type: ignore[method-assign]


def run() -> None:
    service = sys.argv.pop(1)
    if log_path := os.environ.get(DELIVERY_LOG_ENV):
        # Line-buffered: each line reaches the kernel at once, so a kill -9 loses none of them.
        log_deliveries(open(log_path, "a", buffering=1))  # noqa: SIM115 - open for the process's life
    if mutant := os.environ.get(MUTANT_ENV):
        importlib.import_module("bench.faults.mutants").apply(mutant)
    flag = os.environ.get(FLAG_ENV)
    spec = importlib.import_module(f"services.{service}.app").SPEC
    main(with_audit(spec, Path(flag) if flag else None))


if __name__ == "__main__":
    run()
