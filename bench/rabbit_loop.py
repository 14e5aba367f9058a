"""The RabbitMQ baseline: a plain aio-pika loop with nothing of the platform in it. Persistent
messages published with confirms to one durable quorum queue, in windows as large as the
relay's batches, and consumed with manual ack by another process (bench.rabbit_consumer) with
the consumers' prefetch. Two processes, as the bus has a relay and consumers in their own:
one process doing both runs out of CPU at about half this rate on two cores."""

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection

from bench.cpu import CpuMeter, broker_pids
from bench.pacing import offer
from bench.processes import Children, python_argv
from bench.producer import sample_message
from bench.rabbit_consumer import SENT_AT
from bench.sandbox import Sandbox

POLL_S = 0.02


@dataclass(frozen=True)
class LoopResult:
    rate: float  # messages per second, first publish to last arrival
    p50_ms: float  # publish to arrival
    p99_ms: float
    cpu_s: dict[str, float]  # CPU seconds per party (bench.cpu)


class RabbitLoop:
    def __init__(self, box: Sandbox, children: Children, timeout_s: float) -> None:
        self.box = box
        self.children = children
        self.timeout_s = timeout_s
        self.window = box.settings.relay_batch
        self.body = sample_message()
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None

    async def open(self) -> None:
        self._connection = await aio_pika.connect(self.box.settings.rabbitmq_url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.declare_queue(
            self.box.raw_queue, durable=True, arguments={"x-queue-type": "quorum"}
        )

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def burst(self, count: int) -> LoopResult:
        """Publish ``count`` messages as fast as confirms come back, one window at a time."""

        async def publish_all() -> None:
            for start in range(0, count, self.window):
                await self._publish(min(self.window, count - start))

        return await self._measure(count, publish_all)

    async def paced(self, rate: float, seconds: float) -> LoopResult:
        count = max(1, int(rate * seconds))
        return await self._measure(count, lambda: offer(count, rate, self._publish))

    async def _publish(self, count: int) -> None:
        assert self._channel is not None, "open() first"
        exchange = self._channel.default_exchange
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(
                        self.body,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        content_type="application/json",
                        headers={SENT_AT: time.time_ns()},
                    ),
                    routing_key=self.box.raw_queue,
                )
                for _ in range(count)
            )
        )

    async def _measure(self, count: int, publish: Callable[[], Awaitable[None]]) -> LoopResult:
        result_file = self.children.log_dir / "rabbit-consumer.json"
        result_file.unlink(missing_ok=True)
        s = self.box.settings
        consumer = self.children.start(
            "rabbit-consumer",
            python_argv(
                "bench.rabbit_consumer",
                "--url",
                s.rabbitmq_url,
                "--queue",
                self.box.raw_queue,
                "--count",
                str(count),
                "--prefetch",
                str(s.consumer_prefetch),
                "--result",
                str(result_file),
            ),
        )
        try:
            await self._until_consuming()
            meter = CpuMeter(
                {
                    "bench (publisher)": [os.getpid()],
                    "consumer": [consumer.process.pid],
                    "rabbitmq (whole broker)": broker_pids(s.rabbitmq_url),
                }
            )
            meter.start()
            started = time.time()
            await publish()
            deadline = time.monotonic() + self.timeout_s
            while not result_file.exists():
                self.children.check()
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the RabbitMQ loop's consumer got fewer than {count} messages in "
                        f"{self.timeout_s:.0f} s:\n{consumer.log_tail()}"
                    )
                await asyncio.sleep(POLL_S)
            cpu_s = meter.stop()
            arrived = json.loads(result_file.read_text())
        finally:
            self.children.stop(consumer)
        return LoopResult(count / (arrived["last_at"] - started), arrived["p50_ms"], arrived["p99_ms"], cpu_s)

    async def _until_consuming(self) -> None:
        """Start the clock only once the consumer is subscribed, as the bus's consumers are."""
        assert self._channel is not None, "open() first"
        deadline = time.monotonic() + self.timeout_s
        while True:
            queue = await self._channel.declare_queue(self.box.raw_queue, passive=True)
            if queue.declaration_result.consumer_count:
                return
            self.children.check()
            if time.monotonic() > deadline:
                raise TimeoutError("the RabbitMQ loop's consumer did not subscribe")
            await asyncio.sleep(POLL_S)
