"""kill -9 aimed at the moment a crash can do harm: when the process has taken work on and not
yet told anyone it is done (the web between a commit and its 201, a relay between publishing
and marking rows sent, a consumer between its commit and its acks).

A process killed while idle proves little, and under a steady load these processes are idle
most of the time. So the target is first frozen (SIGSTOP) while work piles up for it, then
thawed and killed as soon as it is seen part-way through that work.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from aio_pika.abc import AbstractIncomingMessage

from bench.faults.roles import RoundPlatform
from shared.bus import Bus

# What to await for "the target is part-way through its work".
PartWay = Callable[[], Awaitable[object]]
# Entered before the target thaws, so that nothing it does afterwards goes unseen.
Watch = Callable[[RoundPlatform, Bus], contextlib.AbstractAsyncContextManager[PartWay]]


def _count_grows(sql: str) -> Watch:
    """A count that moves at the target's first commit, while the rest of the pile is in hand."""

    @contextlib.asynccontextmanager
    async def watch(platform: RoundPlatform, bus: Bus) -> AsyncIterator[PartWay]:
        conn = await asyncpg.connect(platform.settings.database_url)
        try:
            before = await conn.fetchval(sql)

            async def grown() -> None:
                # No pause between probes: the window is a few milliseconds wide.
                while await conn.fetchval(sql) == before:
                    pass

            yield grown
        finally:
            await conn.close()

    return watch


@contextlib.asynccontextmanager
async def _first_publish(platform: RoundPlatform, bus: Bus) -> AsyncIterator[PartWay]:
    """A tap on the exchange: the first event routed means the relay's batch is on its way and
    its rows are not marked sent until every confirm is back."""
    channel = await bus.channel()
    try:
        tap = await channel.declare_queue(exclusive=True, auto_delete=True)
        await tap.bind(await channel.get_exchange(bus.exchange_name), routing_key="#")
        arrived = asyncio.Event()

        async def on_message(message: AbstractIncomingMessage) -> None:
            arrived.set()

        await tap.consume(on_message, no_ack=True)
        yield arrived.wait
    finally:
        await channel.close()


@dataclass(frozen=True)
class Aim:
    # The target first, then the processes that would otherwise take over its work meanwhile.
    frozen: tuple[str, ...]
    watch: Watch


AIMS = {
    "web": Aim(("web",), _count_grows("SELECT count(*) FROM engagement.people")),
    "relay-a": Aim(("relay-a", "relay-b"), _first_publish),
    "relay-b": Aim(("relay-b", "relay-a"), _first_publish),
    "surveys-consumer": Aim(("surveys-consumer",), _count_grows("SELECT count(*) FROM surveys.inbox")),
    "notifications-consumer": Aim(("notifications-consumer",),
                                  _count_grows("SELECT count(*) FROM notifications.inbox")),
}


async def kill_mid_work(platform: RoundPlatform, bus: Bus, process: str, *, freeze_s: float = 1.0,
                        patience_s: float = 5.0) -> None:
    aim = AIMS[process]
    target, *others = (platform.processes[name] for name in aim.frozen)
    for child in (target, *others):
        child.freeze()
    try:
        await asyncio.sleep(freeze_s)
        async with aim.watch(platform, bus) as part_way:
            target.thaw()
            # Killed all the same if the moment never comes: a crash it is, only a blunter one.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(part_way(), patience_s)
            target.kill()
    finally:
        for child in others:
            child.thaw()

