"""What an operator does with parked messages: read them with their errors, and put them back
on their queue once the cause is fixed (the inbox makes a replay of a handled event harmless)."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from aio_pika.abc import AbstractIncomingMessage

from shared.bus import Bus


@dataclass(frozen=True)
class ParkedMessage:
    message_id: str
    event_type: str
    error: str
    attempts: int
    parked_at: str
    body: str
    routing_key: str = ""

    @classmethod
    def of(cls, message: AbstractIncomingMessage) -> "ParkedMessage":
        headers: dict[str, Any] = dict(message.headers or {})
        reason = headers.get("x-error") or _broker_reason(headers)
        return cls(
            message_id=message.message_id or "",
            event_type=message.type or "",
            error=str(reason),
            attempts=_count(headers.get("x-attempts", headers.get("x-delivery-count", 0))),
            parked_at=str(headers.get("x-parked-at", "")),
            body=message.body.decode("utf-8", "replace")[:20_000],
            routing_key=str(headers.get("x-original-routing-key") or message.routing_key or ""),
        )

    def as_json(self, place: str = "") -> str:
        return json.dumps({"place": place, **self.__dict__})


def _count(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _broker_reason(headers: dict[str, Any]) -> str:
    # Parked by the broker itself (delivery limit): the consumer crashed on it every time.
    reason = headers.get("x-first-death-reason", "unknown")
    return f"parked by the broker: {reason} (the consumer died while handling it)"


async def list_parked(bus: Bus, queue: str, limit: int = 100) -> list[ParkedMessage]:
    """Read up to ``limit`` parked messages of a consumer without removing them."""
    return await _peek(bus, bus.queue_names(queue).dlq, limit)


async def list_unrouted(bus: Bus, limit: int = 100) -> list[ParkedMessage]:
    """Events no queue was bound for when they were published (a consumer not declared yet, a
    wrong prefix, a key nobody handles any more), kept by the events exchange's alternate."""
    return [
        replace(m, error=f"no queue was bound for routing key {m.routing_key!r}")
        for m in await _peek(bus, bus.unrouted_queue, limit)
    ]


async def _peek(bus: Bus, queue_name: str, limit: int) -> list[ParkedMessage]:
    channel = await bus.channel()
    try:
        queue = await channel.get_queue(queue_name)
        taken: list[AbstractIncomingMessage] = []
        while len(taken) < limit and (message := await queue.get(fail=False)) is not None:
            taken.append(message)
        await _put_back(taken)
        return [ParkedMessage.of(m) for m in taken]
    finally:
        await channel.close()


async def _next_ready(queue: Any) -> AbstractIncomingMessage | None:
    """The next ready message; before saying there is none, ask the queue's count, which also
    covers messages another channel was still returning a moment ago."""
    message: AbstractIncomingMessage | None = await queue.get(fail=False)
    if message is None and ((await queue.declare()).message_count or 0) > 0:
        message = await queue.get(fail=False)
    return message


async def _put_back(messages: list[AbstractIncomingMessage]) -> None:
    """Return messages read but not taken to their queue now. Left to the channel's close, they
    come back a moment later, and a command run right after would miss them."""
    for message in messages:
        await message.nack(requeue=True)
    if messages:
        # A request on the same channel answers only after the broker handled the nacks.
        await messages[-1].channel.basic_qos(prefetch_count=0)


async def replay_parked(bus: Bus, queue: str, message_ids: set[str] | None = None) -> int:
    """Move parked messages (all, or those with the given ids) back to their queue with a fresh
    retry count. Each is removed from the DLQ only after the broker confirmed its copy."""
    names = bus.queue_names(queue)

    async def send_back(message: AbstractIncomingMessage) -> None:
        await bus.send_to_queue(
            names.main,
            message.body,
            message_id=message.message_id or "",
            event_type=message.type or "",
            headers={k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")},
        )

    return await _move(bus, names.dlq, message_ids, send_back)


async def replay_unrouted(bus: Bus, message_ids: set[str] | None = None) -> int:
    """Publish unrouted events (all, or those with the given ids) to the events exchange again,
    with their routing key; one still unbound lands in the unrouted queue again."""

    async def publish_again(message: AbstractIncomingMessage) -> None:
        await bus.publish(message.routing_key or "", message.body, message_id=message.message_id or "")

    return await _move(bus, bus.unrouted_queue, message_ids, publish_again)


async def _move(
    bus: Bus,
    queue_name: str,
    message_ids: set[str] | None,
    send: Callable[[AbstractIncomingMessage], Awaitable[None]],
) -> int:
    """Send on each message of a queue (or those with the given ids), acknowledging it only
    after the broker confirmed its copy."""
    return await take_each(
        bus, queue_name, lambda m: message_ids is None or m.message_id in message_ids, then=send
    )


async def take_each(
    bus: Bus,
    queue_name: str,
    chosen: Callable[[AbstractIncomingMessage], bool],
    *,
    then: Callable[[AbstractIncomingMessage], Awaitable[None]] | None = None,
) -> int:
    """Remove the chosen messages from a queue of messages at rest (a DLQ, the unrouted queue),
    each after ``then`` (if given) succeeded; the others go back to the queue untouched."""
    channel = await bus.channel()
    taken, left, sent_on = 0, [], set()
    try:
        queue = await channel.get_queue(queue_name)
        while (message := await _next_ready(queue)) is not None:
            key = (message.message_id, message.body)
            # Held (unacknowledged) until the end, so each message is seen once; one sent on may
            # come back to this very queue (an unrouted event published again while still
            # unbound), and is then left where it is.
            if key in sent_on or not chosen(message):
                left.append(message)
                continue
            if then is not None:
                await then(message)
            await message.ack()
            sent_on.add(key)
            taken += 1
        await _put_back(left)
    finally:
        await channel.close()
    return taken
