"""Where the CPU went during a phase, per party: the bench's own process, each service or
consumer process, the PostgreSQL backends serving the bench's database and the RabbitMQ
broker. On two shared cores throughput is bounded by CPU per event, and this is the figure a
noisy neighbour disturbs least; the profilers see inside the Python processes only."""

from urllib.parse import urlsplit

import asyncpg
import psutil

MACHINE = "machine (all processes)"  # everyone's, the neighbours' included
TOTAL = "total of the parties"


def broker_pids(rabbitmq_url: str) -> list[int]:
    """The broker serving the bench's port. Found by the port, not the name: the fault tests
    run brokers of their own on this machine."""
    port = urlsplit(rabbitmq_url).port or 5672
    return sorted(
        {
            c.pid
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
        }
    )


async def postgres_backends(conn: asyncpg.Connection) -> list[int]:
    """The backends serving ``conn``'s database, other than ``conn``'s own."""
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return [r["pid"] for r in rows]


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue  # a connection closed during the phase; its share is lost, and small
        seconds[pid] = times.user + times.system
    return seconds


def _machine_busy_seconds() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + t.steal


class CpuMeter:
    """CPU seconds per party between ``start()`` and ``stop()``, beside the whole machine's."""

    def __init__(self, watched: dict[str, list[int]]) -> None:
        self.watched = watched
        self._before: dict[str, dict[int, float]] = {}
        self._machine = 0.0

    def start(self) -> None:
        self._before = {name: _cpu_seconds(pids) for name, pids in self.watched.items()}
        self._machine = _machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        used = {}
        for name, pids in self.watched.items():
            before = self._before[name]
            used[name] = sum(s - before[pid] for pid, s in _cpu_seconds(pids).items() if pid in before)
        used[MACHINE] = _machine_busy_seconds() - self._machine
        return used


def per_event_ms(used: dict[str, float], events: int) -> dict[str, float]:
    """CPU milliseconds per event, per party, with the parties' total."""
    ms = {name: seconds * 1000 / events for name, seconds in used.items()}
    ms[TOTAL] = sum(v for name, v in ms.items() if name != MACHINE)
    return ms
