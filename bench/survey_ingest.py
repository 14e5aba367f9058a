"""``survey_ingest``: ``POST /api/v1/surveys/{slug}/responses`` over HTTP with keep-alive through
the one address (nginx, as ``make run`` configures it), each response answered only once it is
durable with its ``response.submitted`` in the outbox. Surveys' web role runs in several
processes, each on a port of its own, nginx spreading the requests over them.

Beside it, with the same load in the same run: the floor server (bench.floor_ingest, group
commit, as many processes behind the same nginx), and pgbench's single-row INSERT of a response
for context.

The load is wrk: 2 threads, keep-alive connections, every request a new submission key and one of
a few hundred residents' plausible answers (bench.survey_setup) to a confidential survey with
public access and the demographics section, so every request writes a submission key, a response,
its tallies and cross-tabs and an outbox row.

At saturation latency is the queue: with every connection sending again as soon as it is answered,
the mean is connections / rate (64 / 1,000/s = 64 ms) whatever the path costs. So each run also
offers about PACED_RATE responses/s (each connection waits connections / PACED_RATE s before its
next request: wrk's ``delay()``, as wrk2 is not installed; a closed loop with think time, so the
offered rate falls a little below PACED_RATE as answers slow down) and reports that phase's p50/p99.
"""

import dataclasses
import json
import random
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import psutil
from rich.console import Console

from bench import drain, ingest
from bench.faults.infra import free_port
from bench.processes import Child, Children, python_argv
from bench.report import Run
from bench.sandbox import Sandbox
from bench.survey_setup import BenchSurvey, answers, store_survey
from deploy.proxy import write_nginx_config
from deploy.stack import SERVICES
from services.surveys.app import SPEC as SURVEYS
from shared.settings import Settings

BODIES = 500  # distinct answers, cycled through
PACED_RATE = 250  # responses/s of the paced phase: under half the floor's rate on this (shared) machine
WRK_SCRIPT = """
local answers = {%(answers)s}
function request()
  n = n + 1
  local body = string.format('{"submission_key":"%%s-%%04x-4000-8000-%%012x","answers":%%s}',
    run, tid, n, answers[(n %% #answers) + 1])
  local headers = {["Content-Type"] = "application/json"}
  return wrk.format("POST", "/api/v1/surveys/%(slug)s/responses", headers, body)
end
%(pacing)s-- The first refusals' bodies, in wrk's output (which the bench shows when a run fails).
local refused = 0
function response(status, headers, body)
  if status >= 300 and refused < 3 then
    refused = refused + 1
    print(status .. " " .. body)
  end
end
"""
PGBENCH_SCRIPT = """INSERT INTO bench_pgbench.responses
    (survey_id, version, answers, postal_code, submitted_at)
VALUES ('%(survey)s', 1, '%(answers)s', '94601', now());
"""
EMPTY = """TRUNCATE surveys.submissions, surveys.responses, surveys.survey_totals, surveys.tallies,
                    surveys.crosstab_tallies, surveys.outbox, surveys.aggregate_sequences"""
SERVICE, FLOOR = "service", "floor"


def wrk_script(survey: BenchSurvey, seed: int = 15, delay_ms: float | None = None) -> str:
    """The script sending responses; with ``delay_ms``, each connection waits that long before
    each request (wrk measures latency from the request's sending, not its delay)."""
    rng = random.Random(seed)
    bodies = ", ".join(f"[==[{json.dumps(answers(rng))}]==]" for _ in range(BODIES))
    pacing = "" if delay_ms is None else f"function delay()\n  return {delay_ms:.1f}\nend\n"
    return ingest.WRK_NUMBERING + WRK_SCRIPT % {"answers": bodies, "slug": survey.slug, "pacing": pacing}


class SurveyTargets:
    """Surveys' web role in ``processes`` processes and the floor server in as many, each set
    behind an nginx of its own written by deploy/proxy.py."""

    def __init__(
        self,
        box: Sandbox,
        children: Children,
        work_dir: Path,
        processes: int,
        profile_dir: Path | None = None,
    ) -> None:
        self.box = box
        self.children = children
        self.work_dir = work_dir
        self.processes = processes
        self.profile_dir = profile_dir
        self.servers: dict[str, list[Child]] = {SERVICE: [], FLOOR: []}
        self.ports: dict[str, int] = {}
        self.started: list[Child] = []
        self.nginx: dict[str, Child] = {}

    def start(self) -> None:
        s = self.box.settings
        upstreams: dict[str, list[int]] = {SERVICE: [], FLOOR: []}
        pool = str(Settings.model_fields["pool_max_size"].default)  # `make run`'s pool, per process
        for n in range(self.processes):
            port = free_port()
            profile = self.profile_dir / f"surveys-web-{n}.txt" if self.profile_dir else None
            self.servers[SERVICE].append(
                self.children.start(
                    f"surveys-web-{n}",
                    python_argv("services.surveys", "run", "--roles", "web", profile_to=profile),
                    env={"CIVIC_SURVEYS_PORT": str(port), "CIVIC_POOL_MAX_SIZE": pool},
                )
            )
            upstreams[SERVICE].append(port)
            port = free_port()
            self.servers[FLOOR].append(
                self.children.start(
                    f"floor-surveys-{n}",
                    python_argv("bench.floor_ingest", "--port", str(port), "--database-url", s.database_url),
                )
            )
            upstreams[FLOOR].append(port)
        # nginx asks engagement who is signed in before every request, as through `make run`'s
        # address: one engagement web process answers both nginxes' session checks.
        accounts = free_port()
        self.sessions = self.children.start(
            "engagement-web-sessions",
            python_argv("services.engagement", "run", "--roles", "web"),
            env={"CIVIC_ENGAGEMENT_PORT": str(accounts), "CIVIC_POOL_MAX_SIZE": pool},
        )
        self.started.append(self.sessions)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        for name in (SERVICE, FLOOR):
            prefix = self.work_dir / f"nginx-surveys-{name}"
            self.ports[name] = free_port()
            settings = s.model_copy(
                update={
                    "proxy_port": self.ports[name],
                    "engagement_port": accounts,
                    "notifications_port": free_port(),
                }
            )
            conf = write_nginx_config(SERVICES, settings, prefix, {SURVEYS.name: upstreams[name]})
            self.nginx[name] = self.children.start(
                f"nginx-surveys-{name}", [nginx, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"]
            )
            self.started.append(self.nginx[name])
        self.started += self.servers[SERVICE] + self.servers[FLOOR]
        for port in [*self.ports.values(), accounts, *upstreams[SERVICE], *upstreams[FLOOR]]:
            ingest.wait_listening(self.children, port)

    def stop(self) -> None:
        for child in self.started:
            self.children.stop(child)

    def url(self, target: str) -> str:
        return f"http://127.0.0.1:{self.ports[target]}"


async def durable_rows(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM surveys.submissions) AS submissions,
                  (SELECT count(*) FROM surveys.responses) AS responses,
                  (SELECT coalesce(sum(responses), 0) FROM surveys.survey_totals) AS tallied,
                  (SELECT count(*) FROM surveys.outbox WHERE routing_key = 'response.submitted') AS outbox"""
    )
    assert row is not None
    return dict(row)


@dataclass(frozen=True)
class Measured:
    http: ingest.HttpResult
    cpu_ms: dict[str, float]  # CPU ms per answered request, per party (PARTIES)


PARTIES = ("web", "nginx", "sessions", "postgresql")


async def measure_http(
    targets: SurveyTargets,
    owner: asyncpg.Connection,
    target: str,
    script: Path,
    *,
    seconds: float,
    connections: int,
) -> Measured:
    """One wrk run from empty tables; every answered request must have left its rows. The CPU of
    each party meanwhile: the target's processes, its nginx (master and workers), engagement's
    session checks, and PostgreSQL's processes working for the bench's database."""
    await owner.execute(EMPTY)
    nginx = targets.nginx[target].process.pid
    meter = drain.CpuMeter(
        {
            "web": [c.process.pid for c in targets.servers[target]],
            "nginx": [nginx, *(p.pid for p in psutil.Process(nginx).children())],
            "sessions": [targets.sessions.process.pid],
        },
        targets.box.database,
        urlsplit(targets.box.settings.database_url).port or 5432,
    )
    meter.start()
    result = await ingest.wrk(
        targets.url(target), seconds=seconds, connections=connections, script=script, run=secrets.token_hex(4)
    )
    used = meter.stop()
    answered = max(result.answered, 1)
    used["postgresql"] = used[drain.POSTGRES]
    cpu_ms = {party: used[party] * 1000 / answered for party in PARTIES}
    rows = await durable_rows(owner)
    if min(rows.values()) < result.answered:
        raise RuntimeError(f"{target}: {result.answered} answered but only {rows} committed")
    return Measured(dataclasses.replace(result, cpu_ms_per_request=cpu_ms["web"]), cpu_ms)


@dataclass(frozen=True)
class Sizes:
    runs: int
    seconds: float
    connections: int
    processes: int


async def measure(
    box: Sandbox,
    children: Children,
    work: Path,
    sizes: Sizes,
    console: Console,
    profile_dir: Path | None = None,
) -> list[Run]:
    """``sizes.runs`` interleaved runs (odd runs the service first) of the service, the floor and
    pgbench; the service's and the floor's processes are stopped at the end."""
    owner = await box.connect(owner=True)
    targets = SurveyTargets(box, children, work, sizes.processes, profile_dir)
    try:
        survey = await store_survey(owner)
        await owner.execute("""CREATE SCHEMA IF NOT EXISTS bench_pgbench;
                               CREATE TABLE bench_pgbench.responses (LIKE surveys.responses INCLUDING ALL)""")
        insert = PGBENCH_SCRIPT % {"survey": survey.id, "answers": json.dumps(answers(random.Random(0)))}
        script = work / "respond.lua"
        script.write_text(wrk_script(survey))
        paced_script = work / "respond-paced.lua"
        paced_script.write_text(wrk_script(survey, delay_ms=sizes.connections * 1000 / PACED_RATE))
        targets.start()
        runs = []
        for run in range(1, sizes.runs + 1):
            http, paced = {}, {}
            for target in (SERVICE, FLOOR) if run % 2 else (FLOOR, SERVICE):
                http[target] = await measure_http(
                    targets, owner, target, script, seconds=sizes.seconds, connections=sizes.connections
                )
                paced[target] = await measure_http(
                    targets, owner, target, paced_script, seconds=sizes.seconds, connections=sizes.connections
                )
            tps = await ingest.pgbench(
                box.settings.migration_database_url,
                work,
                seconds=sizes.seconds,
                clients=max(1, sizes.connections // 4),
                insert=insert,
            )
            await owner.execute("TRUNCATE bench_pgbench.responses")
            await owner.execute(EMPTY)
            a, b = http[SERVICE].http, http[FLOOR].http
            pa, pb = paced[SERVICE].http, paced[FLOOR].http
            parties = {
                **{f"cpu_ms_{party}": round(ms, 3) for party, ms in http[SERVICE].cpu_ms.items()},
                **{f"floor_cpu_ms_{party}": round(ms, 3) for party, ms in http[FLOOR].cpu_ms.items()},
            }
            runs.append(
                Run(
                    a.rate,
                    b.rate,
                    a.p50_ms,
                    a.p99_ms,
                    b.p50_ms,
                    b.p99_ms,
                    extra={
                        "pgbench_tps": tps,
                        "web_processes": sizes.processes,
                        "cpu_ms_per_request": round(a.cpu_ms_per_request, 3),
                        "floor_cpu_ms_per_request": round(b.cpu_ms_per_request, 3),
                        **parties,
                        "paced_offered_per_s": PACED_RATE,
                        "paced_rate": pa.rate,
                        "paced_p50_ms": pa.p50_ms,
                        "paced_p99_ms": pa.p99_ms,
                        "floor_paced_rate": pb.rate,
                        "floor_paced_p50_ms": pb.p50_ms,
                        "floor_paced_p99_ms": pb.p99_ms,
                    },
                )
            )
            console.log(
                f"run {run}: survey responses {a.rate:,.0f}/s p50/p99 {a.p50_ms:.0f}/{a.p99_ms:.0f} ms "
                f"(floor {b.rate:,.0f}/s, {b.p50_ms:.0f}/{b.p99_ms:.0f} ms), pgbench {tps:,.0f} tps; "
                f"paced at {PACED_RATE}/s: {pa.rate:,.0f}/s p50/p99 {pa.p50_ms:.1f}/{pa.p99_ms:.1f} ms "
                f"(floor {pb.rate:,.0f}/s, {pb.p50_ms:.1f}/{pb.p99_ms:.1f} ms); "
                "CPU ms/response "
                + ", ".join(
                    f"{p} {http[SERVICE].cpu_ms[p]:.3f} (floor {http[FLOOR].cpu_ms[p]:.3f})" for p in PARTIES
                )
            )
        return runs
    finally:
        targets.stop()
        await owner.close()
