"""A steady load of person registrations through engagement's real HTTP API, behind nginx as users
reach it. A write counts as acknowledged only when a 2xx answer reached us: that is the promise the
faults must keep. Each request's display name is unique, and is how the audit finds it again."""

import asyncio
import itertools
import time

import aiohttp

_POSTAL_CODES = ("10013", "97214", "95116", "94607", "46204", None)


class RegistrationLoad:
    def __init__(self, api: str, rate: float, tag: str, max_in_flight: int = 64) -> None:
        self.url = f"{api}/api/v1/people"
        self.interval = 1.0 / rate
        self.tag = tag
        self.max_in_flight = max_in_flight
        # Display names, in the order the acknowledgements arrived, each with the time it arrived.
        self.acknowledged: list[str] = []
        self.acknowledged_at: list[float] = []
        self.rejected = 0
        self._numbers = itertools.count()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop offering load and wait for the answers still on their way."""
        self._stop.set()
        if self._task is not None:
            await self._task

    def acknowledged_since(self, moment: float) -> int:
        return sum(1 for at in self.acknowledged_at if at >= moment)

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=15)
        in_flight: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(timeout=timeout) as session:
            next_at = time.monotonic()
            while not self._stop.is_set():
                # Open loop: the offered rate does not slow down when the platform does; when too
                # many requests hang, new ones are not sent rather than queued up without bound.
                if len(in_flight) < self.max_in_flight:
                    task = asyncio.create_task(self._register(session, next(self._numbers)))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                next_at += self.interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if in_flight:
                await asyncio.wait(in_flight)

    async def _register(self, session: aiohttp.ClientSession, n: int) -> None:
        name = f"Fault drill {self.tag} #{n}"
        body = {
            "display_name": name,
            "email": f"drill-{self.tag}-{n}@faults.invalid" if n % 5 else None,
            "consent_to_contact": n % 5 != 0,
            "language": "es" if n % 3 == 0 else "en",
            "postal_code": _POSTAL_CODES[n % len(_POSTAL_CODES)],
        }
        try:
            async with session.post(self.url, json=body) as response:
                await response.read()
                if not 200 <= response.status < 300:
                    self.rejected += 1
                    return
        except (aiohttp.ClientError, TimeoutError):
            self.rejected += 1
            return
        self.acknowledged.append(name)
        self.acknowledged_at.append(time.monotonic())
