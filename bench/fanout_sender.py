"""The sending side of bench.fanout, run as its own process so its peak RSS is its own.

    CIVIC_DATABASE_URL=... python -m bench.fanout_sender notices - PORTS CONNECTIONS TOTAL
    python -m bench.fanout_sender plain MESSAGE_FILE PORTS CONNECTIONS TOTAL

The database URL comes in the environment: on the command line its password would show in ps.

``notices``: the platform's senders (services/notifications/deliveries/sender.py's Worker), one
per connection, spread over the sinks' ports, until TOTAL deliveries are no longer pending.
``plain``: a bare aiosmtplib loop sending the bytes of MESSAGE_FILE TOTAL times over as many
connections. Each prints the seconds it spent sending."""

import asyncio
import sys
import time
from pathlib import Path

import aiosmtplib
import uvloop

from services.notifications.deliveries.sender import Worker
from services.notifications.deliveries.transports import SmtpTransport
from shared.db import create_pool
from shared.settings import get_settings


async def notices(ports: list[int], connections: int, total: int) -> float:
    base = get_settings().model_copy(
        update={"pool_max_size": connections + 1, "public_url": "http://civic.bench"}
    )
    pool = await create_pool(base, "notifications")
    workers = []
    for n in range(connections):
        settings = base.model_copy(update={"smtp_port": ports[n % len(ports)]})
        workers.append(Worker(pool, settings, "email", SmtpTransport(settings)))

    async def until_done(worker: Worker) -> None:
        while await worker.once():
            pass
        await worker.transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(until_done(w) for w in workers))
    elapsed = time.perf_counter() - started
    sent = await pool.fetchval("SELECT count(*) FROM deliveries WHERE state = 'sent'")
    await pool.close()
    if sent != total:
        raise SystemExit(f"sent {sent} of {total}")
    return elapsed


async def plain(message: bytes, ports: list[int], connections: int, total: int) -> float:
    remaining = iter(range(total))

    async def loop(port: int) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30) as smtp:
            for n in remaining:
                await smtp.sendmail("no-reply@civic.invalid", [f"member{n}@example.org"], message)

    started = time.perf_counter()
    await asyncio.gather(*(loop(ports[n % len(ports)]) for n in range(connections)))
    return time.perf_counter() - started


def main() -> None:
    mode, source, ports, connections, total = sys.argv[1:6]
    port_list = [int(p) for p in ports.split(",")]
    if mode == "notices":
        elapsed = uvloop.run(notices(port_list, int(connections), int(total)))
    else:
        elapsed = uvloop.run(plain(Path(source).read_bytes(), port_list, int(connections), int(total)))
    print(f"{elapsed:.3f}", flush=True)


if __name__ == "__main__":
    main()
