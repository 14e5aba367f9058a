"""Parked (dead-lettered) messages, for the operator on call.

python -m deploy.parked list                   # every consumer's DLQ and the unrouted events
python -m deploy.parked replay QUEUE [ID ...]   # put them back once the cause is fixed
python -m deploy.parked replay unrouted [ID ...] # publish unrouted events again, once bound
python -m deploy.parked erase AGGREGATE          # drop parked/unrouted messages about person:<id>
"""

import argparse
import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

import aiormq.exceptions

from deploy.stack import SERVICES
from shared.bus import Bus
from shared.erasure import erase_from_queue
from shared.parked import ParkedMessage, list_parked, list_unrouted, replay_parked, replay_unrouted
from shared.settings import get_settings

QUEUES = [sub.consumer for spec in SERVICES for sub in spec.subscriptions]
UNROUTED = "unrouted"
T = TypeVar("T")


async def _list(bus: Bus, as_json: bool) -> int:
    total = 0
    places: list[tuple[str, Awaitable[list[ParkedMessage]]]] = [
        (f"{queue}.dlq", list_parked(bus, queue)) for queue in QUEUES
    ]
    places.append((UNROUTED, list_unrouted(bus)))
    for place, listing in places:
        messages = await _unless_undeclared(place, listing, [])
        total += len(messages)
        if not as_json:
            print(f"{place}: {len(messages)} parked")
        for message in messages:
            _show(place, message, as_json)
    return total


async def _unless_undeclared(place: str, work: Awaitable[T], nothing: T) -> T:
    """The queues exist once the platform was prepared (make run); say so instead of a traceback."""
    try:
        return await work
    except aiormq.exceptions.ChannelNotFoundEntity:
        print(f"{place}: not declared on this broker yet (start the platform once)", file=sys.stderr)
        return nothing


def _show(place: str, message: ParkedMessage, as_json: bool) -> None:
    if as_json:
        print(message.as_json(place))
        return
    print(
        f"  {message.message_id} {message.event_type or message.routing_key} attempts={message.attempts} "
        f"parked_at={message.parked_at}\n    {message.error}"
    )


async def _main(args: argparse.Namespace) -> int:
    bus = Bus(get_settings(), name="parked-cli")
    await bus.connect()
    try:
        if args.command == "list":
            await _list(bus, args.json)
            return 0
        if args.command == "erase":
            places = [bus.queue_names(queue).dlq for queue in QUEUES] + [bus.unrouted_queue]
            for place in places:
                erased = await _unless_undeclared(place, erase_from_queue(bus, place, args.aggregate), 0)
                print(f"{place}: erased {erased} message(s)")
            return 0
        if args.queue == UNROUTED:
            replayed = await replay_unrouted(bus, set(args.ids) or None)
            print(f"published {replayed} message(s) again; any still unbound are back in {UNROUTED}")
            return 0
        if args.queue not in QUEUES:
            print(f"unknown queue {args.queue!r}; one of: {', '.join([*QUEUES, UNROUTED])}", file=sys.stderr)
            return 2
        replayed = await replay_parked(bus, args.queue, set(args.ids) or None)
        print(f"replayed {replayed} message(s) to {args.queue}")
        return 0
    finally:
        await bus.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.parked", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="show parked messages and their errors")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    replay = sub.add_parser("replay", help="move parked messages back to their queue")
    replay.add_argument("queue", help=f"one of {', '.join([*QUEUES, UNROUTED])}")
    replay.add_argument("ids", nargs="*", help="only these message ids (default: all)")
    erase = sub.add_parser("erase", help="drop every parked or unrouted message about an aggregate")
    erase.add_argument("aggregate", help="what the events are about, e.g. person:<id>")
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
