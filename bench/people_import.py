"""``people_import``: importing a generated CSV file of 100,000 new people as the CLI does
(``importing.parse``, then ``import_store.import_people``: every rule, the people, their
``person.registered`` through the outbox, the audit entry, one transaction), in rows per second.

Its floor, ``floor_people_import``, is the same rows without the platform: the file read with
the csv module (no checks), the same envelopes built, and one COPY of the people and one of the
outbox rows into tables like engagement's (``LIKE ... INCLUDING ALL``: the same columns,
defaults, checks and indexes), in one transaction. Each run has addresses of its own, so no
person is skipped as known."""

import csv
import io
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from rich.console import Console

from bench.report import Run
from bench.sandbox import Sandbox
from services.engagement.people.import_store import Importer, import_people
from services.engagement.people.importing import parse
from shared.auth import Account, Grant, Role
from shared.contracts import Envelope, PersonRegistered

ROWS = 100_000
FLOOR_SCHEMA = "bench_people_import"
_REGIONS = ("", "", "", "Bench Town")
_ROLES = ("resident", "member", "organizer")
_TAGS = ("", "tenant", "tenant;housing", "youth;transit;housing")


def generated(rows: int, run: int) -> bytes:
    """A file as an organizer would bring: every column, most of them filled; addresses and
    numbers of the run's own (a person known by either would be skipped)."""
    out = io.StringIO()
    out.write("name,email,phone,preferred_language,zip,region,role,tags\n")
    for n in range(rows):
        out.write(
            f"Person {run} {n},p{n}-{run}@example.org,+{run:02d}{n:010d},{'es' if n % 3 == 0 else 'en'},"
            f"{94600 + n % 20},{_REGIONS[n % 4]},{_ROLES[n % 3]},{_TAGS[n % 4]}\n"
        )
    return out.getvalue().encode()


async def _service(box: Sandbox, data: bytes) -> float:
    conn = await asyncpg.connect(box.settings.database_url, server_settings={"search_path": "engagement"})
    admin = Account(id=uuid.uuid4(), grants=frozenset({Grant(role=Role.ADMIN)}))
    try:
        started = time.perf_counter()
        imported = await import_people(
            conn, parse(data), Importer(admin, "bench", "bench"), file_name="bench.csv"
        )
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    assert imported.created == ROWS, f"{len(imported.skipped_rows)} people skipped as known"
    return elapsed


async def _floor(owner: asyncpg.Connection, data: bytes) -> float:
    started = time.perf_counter()
    people, outbox = [], []
    now = datetime.now(UTC)
    for n, (name, email, phone, language, zip_code, _region, role, tags) in enumerate(
        csv.reader(io.StringIO(data.decode(), newline=""))
    ):
        if n == 0:
            continue
        person_id = uuid.uuid4()
        people.append((person_id, name, email, phone, language, zip_code, role, tags.split(";"), False))
        envelope = Envelope.wrap(
            PersonRegistered(person_id=person_id, language=language, postal_code=zip_code, registered_at=now),
            producer="engagement",
            aggregate=f"person:{person_id}",
            sequence=1,
        )
        outbox.append((envelope.id, envelope.type, envelope.model_dump_json(), f"person:{person_id}"))
    async with owner.transaction():
        await owner.copy_records_to_table(
            "people",
            schema_name=FLOOR_SCHEMA,
            columns=(
                "id",
                "display_name",
                "email",
                "phone",
                "language",
                "postal_code",
                "role",
                "tags",
                "consent_to_contact",
            ),
            records=people,
        )
        await owner.copy_records_to_table(
            "outbox",
            schema_name=FLOOR_SCHEMA,
            columns=("event_id", "routing_key", "payload", "aggregate"),
            records=outbox,
        )
    elapsed = time.perf_counter() - started
    await owner.execute("TRUNCATE bench_people_import.people, bench_people_import.outbox")
    return elapsed


async def measure(box: Sandbox, runs: int, console: Console) -> list[Run]:
    """One run of each per run, interleaved (odd runs the service first)."""
    owner = await box.connect(owner=True)
    try:
        await owner.execute(
            """CREATE SCHEMA bench_people_import;
                CREATE TABLE bench_people_import.people (LIKE engagement.people INCLUDING ALL);
                CREATE TABLE bench_people_import.outbox (LIKE engagement.outbox INCLUDING ALL);
                INSERT INTO engagement.regions (kind, name) VALUES ('city', 'Bench Town');"""
        )
        results = []
        for run in range(1, runs + 1):
            data = generated(ROWS, run)
            timed: dict[str, float] = {}
            for which in ("service", "floor") if run % 2 else ("floor", "service"):
                timed[which] = await (_service(box, data) if which == "service" else _floor(owner, data))
            service, floor = timed["service"], timed["floor"]
            console.log(
                f"run {run}: people import {ROWS:,} rows in {service:.1f} s ({ROWS / service:,.0f}/s; "
                f"floor {floor:.1f} s, {ROWS / floor:,.0f}/s)"
            )
            results.append(
                Run(ROWS / service, ROWS / floor, extra={"seconds": service, "floor_seconds": floor})
            )
        return results
    finally:
        await owner.close()
