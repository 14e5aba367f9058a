"""``ingest_http``: ``POST /api/v1/people`` over HTTP with keep-alive, each request answered only
once its person row and outbox row are committed, through nginx and direct. Beside it, with the
same load in the same run: the floor server (bench.floor_ingest, group commit), also direct and
through nginx, and pgbench's single-row INSERT of the same row shape, for context.

The load is wrk (Debian's package): 2 threads, keep-alive connections, every request a new
person (unique e-mail address), without consent so every request writes the same two rows.
"""

import asyncio
import dataclasses
import re
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil

from bench.faults.infra import free_port
from bench.processes import Child, Children, python_argv
from bench.sandbox import Sandbox
from deploy.proxy import write_nginx_config
from services.engagement.app import SPEC as ENGAGEMENT
from shared.settings import Settings

# Each wrk thread numbered (tid) and told the run's tag: with its own counter n, every request
# of a run has (run, tid, n) of its own.
WRK_NUMBERING = """
local made = 0
function setup(thread)
  made = made + 1
  thread:set("tid", made)
end
local n = 0
function init(args)
  run = args[1]
end
"""
WRK_SCRIPT = WRK_NUMBERING + """
function request()
  n = n + 1
  local body = string.format(
    '{"display_name":"Bench %s %d %d","email":"b%s.%d.%d@bench.invalid","language":"en",' ..
    '"postal_code":"10013","consent_to_contact":false}', run, tid, n, run, tid, n)
  return wrk.format("POST", "/api/v1/people", {["Content-Type"] = "application/json"}, body)
end
"""
PGBENCH_SCRIPT = """INSERT INTO bench_pgbench.people (id, display_name, email, language, consent_to_contact)
VALUES (gen_random_uuid(), 'Bench person', gen_random_uuid()::text || '@bench.invalid', 'en', false);
"""
EMPTY = "TRUNCATE engagement.people, engagement.outbox, engagement.aggregate_sequences CASCADE"
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class HttpResult:
    rate: float  # 2xx answers per second
    p50_ms: float
    p99_ms: float
    answered: int
    cpu_ms_per_request: float  # the server process's CPU (user + system) during the run, per answer


class IngestTargets:
    """The service's web role and the floor server, each direct and behind an nginx of its own."""

    def __init__(self, box: Sandbox, children: Children, work_dir: Path, *, profile_to: Path | None) -> None:
        self.box = box
        self.children = children
        self.work_dir = work_dir
        self.profile_to = profile_to
        self.ports: dict[str, int] = {}
        self.started: list[Child] = []
        self.servers: dict[str, Child] = {}  # the process that serves each target

    def start(self) -> None:
        s = self.box.settings
        service_port, floor_port = s.engagement_port, free_port()
        self.ports = {"service": service_port, "floor": floor_port,
                      "service_nginx": free_port(), "floor_nginx": free_port()}
        # The web role with the pool `make run` gives it, not the sandbox's smaller one: this is
        # the figure a user meets. (The floor server has two connections.)
        self.started.append(self.children.start(
            "engagement-web",
            python_argv("services.engagement", "run", "--roles", "web", profile_to=self.profile_to),
            env={"CIVIC_POOL_MAX_SIZE": str(Settings.model_fields["pool_max_size"].default)}))
        self.started.append(self.children.start(
            "floor-ingest",
            python_argv("bench.floor_ingest", "--port", str(floor_port), "--database-url", s.database_url)))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        for name, upstream in (("service", service_port), ("floor", floor_port)):
            prefix = self.work_dir / f"nginx-{name}"
            settings = s.model_copy(update={"engagement_port": upstream,
                                            "proxy_port": self.ports[f"{name}_nginx"]})
            conf = write_nginx_config([ENGAGEMENT], settings, prefix)
            self.started.append(self.children.start(
                f"nginx-{name}", [nginx, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"]))
        web, floor = self.started[0], self.started[1]
        self.servers = {"service": web, "service_nginx": web, "floor": floor, "floor_nginx": floor}
        for port in self.ports.values():
            wait_listening(self.children, port)

    def url(self, target: str) -> str:
        return f"http://127.0.0.1:{self.ports[target]}"


def wait_listening(children: Children, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        children.check()
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {port} after {timeout:.0f} s")
        time.sleep(0.1)


async def _output(*argv: str) -> str:
    """A tool's standard output; run without blocking, so RSS sampling goes on meanwhile."""
    process = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {process.returncode}:\n{out.decode(errors='replace')}")
    return out.decode()


async def wrk(url: str, *, seconds: float, connections: int, script: Path, run: str) -> HttpResult:
    """One wrk run against ``url``; the figures from its own report."""
    out = await _output("wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script),
                        url, "--", run)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} answers were not 2xx:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(q: str) -> float:
        value, unit = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * _UNITS_MS[unit]

    return HttpResult(rate, latency("50"), latency("99"), requests, 0.0)


async def durable_rows(conn: asyncpg.Connection) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM engagement.people) AS people, "
        "(SELECT count(*) FROM engagement.outbox) AS outbox")
    assert row is not None
    return row["people"], row["outbox"]


async def measure_http(targets: IngestTargets, conn: asyncpg.Connection, target: str, *, seconds: float,
                       connections: int, run: str) -> HttpResult:
    """One wrk run from empty tables; every answered request must have left both of its rows."""
    await conn.execute(EMPTY)
    script = targets.work_dir / "register.lua"
    script.write_text(WRK_SCRIPT)
    server = psutil.Process(targets.servers[target].process.pid)
    before = server.cpu_times()
    result = await wrk(targets.url(target), seconds=seconds, connections=connections, script=script, run=run)
    after = server.cpu_times()
    cpu_s = after.user + after.system - before.user - before.system
    result = dataclasses.replace(result, cpu_ms_per_request=cpu_s * 1000 / max(result.answered, 1))
    people, outbox = await durable_rows(conn)
    if people < result.answered or outbox < result.answered:
        raise RuntimeError(f"{target}: {result.answered} answered but only {people} people and "
                           f"{outbox} outbox rows committed")
    return result


async def prepare_pgbench(owner: asyncpg.Connection) -> None:
    # The same columns, defaults and indexes as engagement.people (primary key, unique e-mail).
    await owner.execute("""CREATE SCHEMA IF NOT EXISTS bench_pgbench;
                           CREATE TABLE IF NOT EXISTS bench_pgbench.people
                               (LIKE engagement.people INCLUDING ALL)""")


async def pgbench(database_url: str, work_dir: Path, *, seconds: float, clients: int,
                  insert: str = PGBENCH_SCRIPT) -> float:
    """Transactions per second of pgbench's single-row ``insert``, one row per transaction."""
    script = work_dir / "insert.sql"
    script.write_text(insert)
    out = await _output("pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T",
                        f"{seconds:.0f}", "-f", str(script), database_url)
    match = re.search(r"tps = ([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"pgbench said:\n{out}")
    return float(match.group(1))
