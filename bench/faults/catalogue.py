"""The faults, one at a time: how each is injected and how it is undone."""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.faults.audit import POISON_KEY
from bench.faults.crashes import WINDOWS, crash_in_window
from bench.faults.roles import ROLES, RoundPlatform
from shared.bus import Bus


@dataclass
class Drill:
    """What a fault acts on during one round."""

    platform: RoundPlatform
    bus: Bus
    flag: Path
    poison_ids: set[str] = field(default_factory=set)


Action = Callable[[Drill], Awaitable[None]]


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    inject: Action
    heal: Action
    # Whether the fault lasts the hold time before it is undone (a restart or a poison message
    # is over as soon as it happened).
    held: bool = True
    # Whether the round's consumers run with handlers that fail while the drill's flag exists.
    flaky_handlers: bool = False
    # What must be above 0 after the round for the fault to have done something (bench.faults.suite
    # names them: window_hits, unanswered, redelivered, retried, rejected, poison_parked).
    evidence: tuple[str, ...] = ()


async def _nothing(drill: Drill) -> None:
    return None


def _kill(process: str) -> Fault:
    async def inject(drill: Drill) -> None:
        await crash_in_window(drill.platform, process)

    async def heal(drill: Drill) -> None:
        drill.platform.processes[process].start()

    # The harm each window can do, had the platform not guarded against it: a committed write
    # never answered, rows published again, messages handled again.
    shows = "unanswered" if process == "web" else "redelivered"
    return Fault(f"kill:{process}", f"{process} kills itself at {WINDOWS[process]}, restarted after "
                 "the hold", inject, heal, evidence=("window_hits", shows))


async def _stop_rabbit(drill: Drill) -> None:
    """Stopped while the consumers hold deliveries they have not acknowledged yet: frozen, their
    prefetch fills up, and thawed once the broker is gone, they handle messages whose channel
    is closed, which then come back a second time after the restart."""
    consumers = [child for name, child in drill.platform.processes.items() if name.endswith("consumer")]
    for child in consumers:
        child.freeze()
    try:
        await asyncio.sleep(1.0)
        await drill.platform.infra.rabbit.stop()
    finally:
        for child in consumers:
            child.thaw()


async def _start_rabbit(drill: Drill) -> None:
    await drill.platform.infra.rabbit.start()


async def _crash_postgres(drill: Drill) -> None:
    await drill.platform.infra.postgres.crash()


async def _start_postgres(drill: Drill) -> None:
    await drill.platform.infra.postgres.start()


async def _publish_poison(drill: Drill) -> None:
    """Straight to the exchange with the routing key every consumer of people listens to."""
    invalid_event = {
        "id": str(uuid.uuid4()), "type": "person.registered", "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(), "producer": "faults",
        "data": {"person_id": "not-a-uuid", "display_name": ""},
    }
    for kind, body in (("not-json", b"\xff{ this is not JSON"),
                       ("invalid-event", json.dumps(invalid_event).encode())):
        message_id = f"poison-{kind}-{uuid.uuid4()}"
        await drill.bus.publish(POISON_KEY, body, message_id=message_id)
        drill.poison_ids.add(message_id)


async def _fail_handlers(drill: Drill) -> None:
    drill.flag.touch()


async def _recover_handlers(drill: Drill) -> None:
    drill.flag.unlink()


FAULTS: tuple[Fault, ...] = (
    *(_kill(process) for process, _service, _role in ROLES),
    Fault("restart:rabbitmq", "orderly stop of the broker while consumers hold deliveries, then start",
          _stop_rabbit, _start_rabbit, held=False, evidence=("redelivered",)),
    Fault("restart:postgresql", "immediate stop of the cluster, restarted after the hold",
          _crash_postgres, _start_postgres, evidence=("rejected",)),
    Fault("poison-message", "a non-JSON body and an invalid person.registered on the exchange",
          _publish_poison, _nothing, held=False, evidence=("poison_parked",)),
    Fault("failing-handler", "every handler fails for the hold time, then works again",
          _fail_handlers, _recover_handlers, flaky_handlers=True, evidence=("retried",)),
)
FAULTS_BY_NAME = {fault.name: fault for fault in FAULTS}
