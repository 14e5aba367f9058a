"""What an operator does with parked messages: read them with their errors, and put them back
on their queue once the cause is fixed (the inbox makes a replay of a handled event harmless)."""

import json
from dataclasses import dataclass
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

    @classmethod
    def of(cls, message: AbstractIncomingMessage) -> "ParkedMessage":
        headers: dict[str, Any] = dict(message.headers or {})
        reason = headers.get("x-error") or _broker_reason(headers)
        return cls(
            message_id=message.message_id or "",
            event_type=message.type or "",
            error=str(reason),
            attempts=int(str(headers.get("x-attempts", headers.get("x-delivery-count", 0)))),
            parked_at=str(headers.get("x-parked-at", "")),
            body=message.body.decode("utf-8", "replace"),
        )

    def as_json(self) -> str:
        return json.dumps(self.__dict__)


def _broker_reason(headers: dict[str, Any]) -> str:
    # Parked by the broker itself (delivery limit): the consumer crashed on it every time.
    reason = headers.get("x-first-death-reason", "unknown")
    return f"parked by the broker: {reason} (the consumer died while handling it)"


async def list_parked(bus: Bus, queue: str, limit: int = 100) -> list[ParkedMessage]:
    """Read up to ``limit`` parked messages without removing them."""
    channel = await bus.channel()
    try:
        dlq = await channel.get_queue(bus.queue_names(queue).dlq)
        taken: list[AbstractIncomingMessage] = []
        while len(taken) < limit and (message := await dlq.get(fail=False)) is not None:
            taken.append(message)
        return [ParkedMessage.of(m) for m in taken]
    finally:
        await channel.close()  # unacknowledged: every message returns to the DLQ


async def replay_parked(bus: Bus, queue: str, message_ids: set[str] | None = None) -> int:
    """Move parked messages (all, or those with the given ids) back to their queue with a fresh
    retry count. Each is removed from the DLQ only after the broker confirmed its copy."""
    names = bus.queue_names(queue)
    channel = await bus.channel()
    replayed = 0
    try:
        dlq = await channel.get_queue(names.dlq)
        pending = await dlq.declare()
        for _ in range(pending.message_count or 0):
            message = await dlq.get(fail=False)
            if message is None:
                break
            if message_ids is not None and message.message_id not in message_ids:
                continue  # left unacknowledged: back to the DLQ when the channel closes
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
            await bus.send_to_queue(
                names.main,
                message.body,
                message_id=message.message_id or "",
                event_type=message.type or "",
                headers=headers,
            )
            await message.ack()
            replayed += 1
    finally:
        await channel.close()
    return replayed
