"""An offered load at a fixed rate, for latency figures that measure the path rather than a
backlog: at full speed, latency only says how long the queue in front of the slowest stage
grew, which depends on how many events the bench sends."""

import asyncio
from collections.abc import Awaitable, Callable

TICK_S = 0.005  # no batch is sent sooner than this after the previous one: no busy loop


async def offer(total: int, rate: float, send: Callable[[int], Awaitable[None]]) -> None:
    """Call ``send(n)`` with the items due so far, item k being due at k / rate seconds. A slow
    ``send`` makes the next batch larger instead of lowering the offered rate."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    while True:
        due = min(total, 1 + int((loop.time() - start) * rate))
        if due > sent:
            await send(due - sent)
            sent = due
        if sent == total:
            return
        await asyncio.sleep(max(TICK_S, start + sent / rate - loop.time()))
