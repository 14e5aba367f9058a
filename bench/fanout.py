"""`fanout`: one webinar's announcement to 100,000 consenting members, as the platform sends it:
the audience listed (campaign.audience_listed's handler writes the delivery rows), each row
claimed with SKIP LOCKED, decided by the person's consent, rendered (text, HTML, signed
unsubscribe link) and accepted by an SMTP sink (aiosmtpd's Sink, in one or more processes), its
state recorded. Beside it, in the same run, a plain aiosmtplib loop sends as many messages of
the same size over the same number of connections to the same sinks. Reported, not asserted.

    python -m bench.fanout [--members 100000] [--connections 4] [--sinks 1,2] [--output bench/results.json]
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from services.notifications.app import SPEC as NOTIFICATIONS
from services.notifications.deliveries import compose, writing
from shared.contracts import AudienceMember, CampaignAudienceListed, CampaignLaunched, Envelope
from shared.contracts.campaigns import MAX_LISTED, Audience
from shared.db import create_pool, drop_database, ensure_database
from shared.runtime import apply_migrations
from shared.settings import Settings, get_settings

MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sinks(count: int) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    ports = [free_port() for _ in range(count)]
    sinks = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{port}",
                "-c",
                "aiosmtpd.handlers.Sink",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    for port in ports:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    return sinks, ports


def run_sender(args: list[str], database_url: str = "") -> tuple[float, float]:
    """(seconds it reported, its peak RSS in MiB), sampled every 0.1 s. The database URL goes in
    the environment, where ps does not show its password."""
    env = {**os.environ, "CIVIC_DATABASE_URL": database_url} if database_url else None
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.fanout_sender", *args], stdout=subprocess.PIPE, env=env
    )
    process = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    assert child.stdout is not None
    out = child.stdout.read().decode().strip()
    if child.returncode != 0:
        raise SystemExit(f"fanout sender failed ({child.returncode}): {out}")
    return float(out.splitlines()[-1]), round(peak / MIB, 1)


async def prepare(settings: Settings, members: int) -> None:
    """Members who consent to campaign news by e-mail, and the webinar's announcement listed to them."""
    await ensure_database(settings.migration_database_url)
    await apply_migrations(NOTIFICATIONS, settings)
    pool = await create_pool(settings, "notifications")
    people = [uuid.uuid4() for _ in range(members)]
    await pool.copy_records_to_table(
        "contact_points",
        columns=[
            "person_id",
            "display_name",
            "email",
            "language",
            "consent_requested",
            "consent_confirmed_at",
            "consents",
        ],
        records=[
            (
                p,
                f"Member {n}",
                f"member{n}@example.org",
                "es" if n % 3 == 0 else "en",
                True,
                datetime.now(UTC),
                ["email:campaign_news"],
            )
            for n, p in enumerate(people)
        ],
    )
    campaign_id, organisation_id = uuid.uuid4(), uuid.uuid4()
    parts = [people[i : i + MAX_LISTED] for i in range(0, len(people), MAX_LISTED)]
    async with pool.acquire() as conn, conn.transaction():
        launched = CampaignLaunched(
            campaign_id=campaign_id,
            organisation_id=organisation_id,
            title="Webinar: equity indicators, Thursday 6 pm",
            audience=Audience(),
            launched_at=datetime.now(UTC),
        )
        await writing.on_campaign_launched(launched, conn, Envelope.wrap(launched, producer="bench"))
        events = [
            CampaignAudienceListed(
                campaign_id=campaign_id,
                organisation_id=organisation_id,
                survey_ids=(uuid.uuid4(),),
                part=n,
                parts=len(parts),
                members=tuple(AudienceMember(person_id=p, language="en") for p in part),
            )
            for n, part in enumerate(parts, start=1)
        ]
        await writing.on_audience_listed(conn, [(e, Envelope.wrap(e, producer="bench")) for e in events])
    await pool.close()


async def one_message_size(settings: Settings) -> bytes:
    """A message as the senders compose it, to give the plain loop the same size."""
    notice = compose.Notice(
        id=1,
        kind="campaign_news",
        channel="email",
        purpose="campaign_news",
        language="en",
        person_id=uuid.uuid4(),
        name="Member 1",
        address="member1@example.org",
        params={"campaign_id": str(uuid.uuid4()), "title": "Webinar: equity indicators, Thursday 6 pm"},
    )
    return compose.email(notice, settings.model_copy(update={"public_url": "http://civic.bench"})).as_bytes()


def measure(members: int, connections: int, sinks: int) -> dict[str, Any]:
    base = get_settings()
    settings = base.with_database(f"civic_bench_fanout_{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    processes, ports = start_sinks(sinks)
    try:
        asyncio.run(prepare(settings, members))
        prepared = time.perf_counter() - started
        joined = ",".join(map(str, ports))
        send_s, rss = run_sender(
            ["notices", "-", joined, str(connections), str(members)], settings.database_url
        )
        message = asyncio.run(one_message_size(settings))
        with tempfile.NamedTemporaryFile(suffix=".eml") as file:
            file.write(message)
            file.flush()
            plain_s, plain_rss = run_sender(["plain", file.name, joined, str(connections), str(members)])
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        asyncio.run(drop_database(settings.migration_database_url))
    return {
        "sinks": sinks,
        "connections": connections,
        "members": members,
        "value": round(members / send_s, 1),
        "baseline_value": round(members / plain_s, 1),
        "ratio": round(plain_s / send_s, 3),
        "seconds": round(time.perf_counter() - started, 1),
        "prepare_seconds": round(prepared, 1),
        "send_seconds": round(send_s, 1),
        "rss_mb": rss,
        "baseline_rss_mb": plain_rss,
        "message_bytes": len(message),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--sinks", default="1,2")
    parser.add_argument("--output", type=Path, default=Path("bench/results.json"))
    args = parser.parse_args()
    runs = []
    for sinks in (int(s) for s in args.sinks.split(",")):
        run = measure(args.members, args.connections, sinks)
        print(json.dumps(run), flush=True)
        runs.append(run)
    best = max(runs, key=lambda r: r["value"])
    entry = {
        "name": "fanout",
        "unit": "messages/s",
        "baseline": "plain_aiosmtplib_loop",
        **{
            k: best[k]
            for k in (
                "value",
                "baseline_value",
                "ratio",
                "seconds",
                "rss_mb",
                "sinks",
                "connections",
                "members",
                "message_bytes",
            )
        },
        "runs": runs,
    }
    document = json.loads(args.output.read_text()) if args.output.exists() else {"results": []}
    document["results"] = [r for r in document.get("results", []) if r.get("name") != "fanout"] + [entry]
    args.output.write_text(json.dumps(document, indent=1) + "\n")
    print(json.dumps(entry, indent=1))


if __name__ == "__main__":
    main()
