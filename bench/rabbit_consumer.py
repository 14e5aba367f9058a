"""The consuming half of the plain aio-pika loop, in a process of its own as each service's
consumer is: take ``--count`` messages with manual ack, write when the last one arrived and how
long they took from publish to arrival, then wait to be stopped (so that the bench can still
read this process's CPU time).

    python -m bench.rabbit_consumer --url URL --queue NAME --count N --prefetch P --result FILE
"""

import argparse
import asyncio
import json
import signal
import time
from pathlib import Path

import aio_pika
import uvloop
from aio_pika.abc import AbstractIncomingMessage

from bench.stats import percentile

# Header: the publisher's time.time_ns() when it published the message. An integer, because
# a float header may travel as a 32-bit float, which rounds today's time to 128 s.
SENT_AT = "x-sent-at-ns"


async def consume(url: str, queue: str, count: int, prefetch: int) -> dict[str, float]:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        source = await channel.get_queue(queue, ensure=False)
        latencies_ms: list[float] = []
        acked = 0
        done = asyncio.Event()

        async def on_message(message: AbstractIncomingMessage) -> None:
            nonlocal acked
            sent_at = message.headers[SENT_AT]
            assert isinstance(sent_at, int)
            latencies_ms.append((time.time_ns() - sent_at) / 1e6)
            await message.ack()
            # Counted once acknowledged: callbacks run concurrently, and a message still
            # unacknowledged when the connection closes would go back to the queue.
            acked += 1
            if acked == count:
                done.set()

        await source.consume(on_message)
        await done.wait()
        return {
            "last_at": time.time(),
            "p50_ms": percentile(latencies_ms, 50),
            "p99_ms": percentile(latencies_ms, 99),
        }
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rabbit_consumer")
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--prefetch", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    result = uvloop.run(consume(args.url, args.queue, args.count, args.prefetch))
    # Written whole under another name first: the bench polls for this file.
    partial = args.result.with_suffix(".partial")
    partial.write_text(json.dumps(result))
    partial.rename(args.result)
    signal.pause()


if __name__ == "__main__":
    main()
