"""Importing people from CSV: the file's rules without I/O (any bytes give people or errors naming
rows and columns, never an exception), then the import against the real PostgreSQL (all or
nothing, people already there skipped, events through the outbox, the audit entry) and the CLI."""

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import hypothesis
import pytest
from hypothesis import strategies as st

from services.engagement.accounts import store as accounts_store
from services.engagement.people import PersonRegistration
from services.engagement.people.import_store import Importer, ImportRefused, import_people
from services.engagement.people.importing import COLUMNS, PersonRole, parse
from shared.auth import Account, Grant, Role
from shared.settings import Settings

ORGANIZER = Account(id=uuid.uuid4(), grants=frozenset({Grant(role=Role.ORGANIZER, scope=uuid.uuid4())}))
HEADER = ",".join(COLUMNS)
ROOT = Path(__file__).resolve().parent.parent


def tag() -> str:
    return uuid.uuid4().hex[:8]


def phone() -> str:
    return f"+1{uuid.uuid4().int % 10**10:010d}"


def importer(account: Account = ORGANIZER) -> Importer:
    return Importer(account, "engagement", f"test-{tag()}")


# The rules


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(data=st.binary(max_size=400) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_people_or_errors_naming_a_row_never_an_exception(data: bytes) -> None:
    parsed = parse(b"name,email,phone,zip,tags\n" + data)
    for error in parsed.errors:
        assert error.row >= 1 and error.message
    emails = [p.person.email.lower() for p in parsed.people if p.person.email]
    assert len(emails) == len(set(emails))
    assert not (parsed.people and parsed.errors and parsed.errors[0].row == 1)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(data=st.binary(max_size=200))
def test_any_bytes_as_a_whole_file_never_raise(data: bytes) -> None:
    parsed = parse(data)
    assert all(error.row >= 1 and error.message for error in parsed.errors)
    assert all(person.row >= 2 for person in parsed.people)  # the header is never a person


def test_unknown_columns_are_named_and_nothing_is_read() -> None:
    parsed = parse(b"Name,E-mail,shoe size\nAna,ana@example.org,38\n")
    assert not parsed.people
    [error] = parsed.errors
    assert error.row == 1 and "'e-mail', 'shoe size'" in error.message


def test_each_bad_value_is_named_by_row_and_column_with_registrations_rules() -> None:
    parsed = parse(
        f"{HEADER}\n"
        "Ana López,ana@Example.ORG,(510) 555-0101,ES,94607,,Member,Tenant; tenant ;housing\n"
        "Bo,not-an-address,12,fr,9,,boss,\n"
        ",,,,,,,\n"  # a blank line is skipped, and still counted
        "\u202eCy,,,,,,,\n".encode()
    )
    [ana] = parsed.people
    expected = PersonRegistration.model_validate(
        {
            "display_name": "Ana López",
            "email": "ana@Example.ORG",
            "phone": "(510) 555-0101",
            "language": "es",
            "postal_code": "94607",
        }
    )
    assert ana.person == expected and ana.row == 2  # the header is row 1
    assert ana.role is PersonRole.MEMBER and ana.tags == ("tenant", "housing")
    assert {(e.row, e.column) for e in parsed.errors} == {
        (3, "email"),
        (3, "phone"),
        (3, "preferred_language"),
        (3, "zip"),
        (3, "role"),
        (5, "name"),
    }
    assert any("is not an e-mail address" in e.message for e in parsed.errors)


def test_a_repeated_row_is_dropped_and_a_conflicting_one_names_the_first() -> None:
    parsed = parse(
        b"name,email,phone\n"
        b"Ana,ana@example.org,+15105550101\n"
        b"Ana,ana@EXAMPLE.org,+1 510.555.0101\n"  # the same person, as registration normalises her
        b"Another Ana,ana@example.org,\n"
        b"Bo,,+1 510 555 0101\n"
    )
    assert [p.row for p in parsed.people] == [2]
    assert parsed.repeated_rows == [3]
    assert [str(e) for e in parsed.errors] == [
        "row 4, email: the same e-mail address as row 2",
        "row 5, phone: the same phone number as row 2",
    ]


def test_files_that_are_not_csv_or_not_utf8_name_the_row() -> None:
    assert [str(e) for e in parse(b"name\nAna\n\xff\n").errors] == ["row 3: not UTF-8 text (byte 10)"]
    assert parse(b'name\nAna\n"Bo\n').errors[0].row == 3
    assert str(parse(b"").errors[0]) == "row 1: the file is empty: it needs a header row"
    assert "3 values" in str(parse(b"name,email\nAna,a@example.org,x\n").errors[0])


# The import


async def _region(pool: asyncpg.Pool, name: str) -> uuid.UUID:
    region_id: uuid.UUID = await pool.fetchval(
        "INSERT INTO regions (kind, name) VALUES ('city', $1) RETURNING id", name
    )
    return region_id


async def _written(pool: asyncpg.Pool, import_id: uuid.UUID) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT p.*, o.routing_key, o.aggregate, o.payload
           FROM people p LEFT JOIN outbox o ON o.aggregate = 'person:' || p.id
           WHERE p.import_id = $1 ORDER BY p.display_name, o.id""",
        import_id,
    )


async def test_an_import_writes_people_their_events_and_its_audit_entry_and_asks_no_consent(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["engagement"]
    city = f"Oakland {tag()}"
    region_id = await _region(pool, city)
    t = tag()
    who = importer()
    data = (
        f"{HEADER}\n"
        f"Ana {t},ana-{t}@example.org,,es,94607,{city.upper()},organizer,housing\n"
        f"Bo {t},,{phone()},,,{region_id},,\n"
    ).encode()
    async with pool.acquire() as conn:
        imported = await import_people(conn, parse(data), who, file_name="people.csv")
    assert imported.created == 2 and imported.skipped_rows == []
    ana, bo = await _written(pool, imported.import_id)
    assert (ana["role"], ana["region_id"], ana["tags"], ana["language"]) == (
        "organizer",
        region_id,
        ["housing"],
        "es",
    )
    assert (bo["role"], bo["region_id"], bo["tags"], bo["language"]) == ("resident", region_id, [], "en")
    for person in (ana, bo):
        # Only person.registered, numbered first in the person's aggregate: no consent asked.
        assert person["routing_key"] == "person.registered" and not person["consent_to_contact"]
        assert person["aggregate"] == f"person:{person['id']}"
        envelope = person["payload"]
        assert envelope["sequence"] == 1 and envelope["actor"] == f"account:{ORGANIZER.id}"
        assert envelope["correlation_id"] == who.request_id
        assert envelope["data"]["postal_code"] == person["postal_code"]
        assert not await pool.fetchval(
            "SELECT count(*) FROM consent_changes WHERE person_id = $1", person["id"]
        )
    audit = await pool.fetch(
        "SELECT action, target, roles FROM audit_log WHERE request_id = $1", who.request_id
    )
    assert [tuple(a) for a in audit] == [
        ("people.imported", f"import:{imported.import_id}", ORGANIZER.roles_text())
    ]


async def test_people_already_there_by_address_or_number_are_skipped_and_left_as_they_were(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["engagement"]
    t, number = tag(), phone()
    known = uuid.uuid4(), uuid.uuid4()
    for person_id, email, tel in ((known[0], f"kim-{t}@example.org", None), (known[1], None, number)):
        await pool.execute(
            """INSERT INTO people (id, display_name, email, phone, language, consent_to_contact)
               VALUES ($1, 'As registered', $2, $3, 'en', false)""",
            person_id,
            email,
            tel,
        )
    data = (
        "name,email,phone,preferred_language\n"
        f"Kim,KIM-{t}@example.org,,es\n"
        f"Lee,,{number},es\n"
        f"New {t},new-{t}@example.org,,es\n"
    ).encode()
    async with pool.acquire() as conn:
        imported = await import_people(conn, parse(data), importer(), file_name="people.csv")
    assert (imported.created, imported.skipped_rows) == (1, [2, 3])
    for person_id in known:
        row = await pool.fetchrow(
            "SELECT display_name, language, import_id FROM people WHERE id = $1", person_id
        )
        assert tuple(row) == ("As registered", "en", None)
        assert not await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE aggregate = $1", f"person:{person_id}"
        )
    [new] = await _written(pool, imported.import_id)
    assert new["display_name"] == f"New {t}"


async def test_one_bad_row_writes_nothing_and_every_problem_is_reported_at_once(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["engagement"]
    t = tag()
    shared_name = f"Twin Town {t}"
    await _region(pool, shared_name)
    await _region(pool, shared_name)
    data = (
        "name,email,region,role\n"
        f"Ana {t},ana-{t}@example.org,,\n"
        f"Bo {t},bo-{t}@example.org,Nowhere {t},\n"
        f"Cy {t},cy-{t}@example.org,{shared_name},\n"
        f"Di {t},di-{t}@example.org,,chief\n"
    ).encode()
    outbox_before = await pool.fetchval("SELECT count(*) FROM outbox")
    audit_before = await pool.fetchval("SELECT count(*) FROM audit_log")
    async with pool.acquire() as conn:
        with pytest.raises(ImportRefused) as refused:
            await import_people(conn, parse(data), importer(), file_name="people.csv")
    assert [(e.row, e.column) for e in refused.value.errors] == [(3, "region"), (4, "region"), (5, "role")]
    assert "2 regions are named" in refused.value.errors[1].message
    assert not await pool.fetchval("SELECT count(*) FROM people WHERE display_name LIKE $1", f"% {t}")
    assert await pool.fetchval("SELECT count(*) FROM outbox") == outbox_before
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == audit_before


_VALUE = st.sampled_from(
    ["", "Ana", "a@example.org", "+15105550101", "es", "xx", "94607", "member", "t;u", '"', ";"]
)


@hypothesis.settings(max_examples=25, deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
@hypothesis.given(rows=st.lists(st.lists(_VALUE, min_size=1, max_size=9), max_size=6))
def test_any_file_is_imported_or_refused_whole(run_settings: Settings, rows: list[list[str]]) -> None:
    data = (HEADER + "\n" + "\n".join(",".join(row) for row in rows)).encode()

    async def run() -> None:
        conn = await asyncpg.connect(run_settings.database_url, server_settings={"search_path": "engagement"})
        try:
            parsed = parse(data)
            try:
                imported = await import_people(conn, parsed, importer(), file_name="people.csv")
            except ImportRefused as exc:
                assert exc.errors == sorted(exc.errors, key=lambda e: (e.row, e.column))
                assert parsed.errors or any(p.region for p in parsed.people)
            else:
                assert not parsed.errors
                assert imported.created + len(imported.skipped_rows) == len(parsed.people)
        finally:
            await conn.close()

    asyncio.run(run())


# The CLI


def _cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "CIVIC_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    command = [sys.executable, "-m", "services.engagement.people", "import", *args]
    done = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    return done.returncode, done.stdout, done.stderr


async def _account(pool: asyncpg.Pool, grants: list[Grant]) -> uuid.UUID:
    account_id = uuid.uuid4()
    await accounts_store.insert_account(pool, account_id, f"{account_id}@example.org", "Org Anizer", "x")
    await accounts_store.grant(pool, account_id, grants)
    return account_id


async def test_the_cli_imports_as_the_named_organizer_and_names_every_bad_row(
    run_settings: Settings, pools: dict[str, asyncpg.Pool], tmp_path: Path
) -> None:
    pool = pools["engagement"]
    organizer = await _account(pool, [Grant(role=Role.ORGANIZER, scope=uuid.uuid4())])
    lead = await _account(pool, [Grant(role=Role.COP_LEAD, scope=uuid.uuid4())])
    t = tag()
    bad = tmp_path / "bad.csv"
    bad.write_text(f"name,email,zip\nAna {t},ana-{t}@example.org,94607\nBo {t},bo@,x\n", encoding="utf-8")
    code, _out, err = await asyncio.to_thread(_cli, run_settings, str(bad), "--by", str(organizer))
    assert code == 2
    assert "bad.csv: row 3, email: is not an e-mail address" in err and "row 3, zip" in err
    assert "nothing imported" in err
    good = tmp_path / "good.csv"
    good.write_text(f"name,email\nAna {t},ana-{t}@example.org\n", encoding="utf-8")
    assert (await asyncio.to_thread(_cli, run_settings, str(good), "--by", str(lead)))[0] == 1
    assert not await pool.fetchval("SELECT count(*) FROM people WHERE display_name LIKE $1", f"% {t}")
    code, out, err = await asyncio.to_thread(_cli, run_settings, str(good), "--by", str(organizer))
    assert code == 0, err
    assert "1 people imported" in out and "people written" in err  # the progress bar, on stderr
    action = await pool.fetchval("SELECT action FROM audit_log WHERE account_id = $1", organizer)
    assert action == "people.imported"
    code, out, _err = await asyncio.to_thread(_cli, run_settings, str(good), "--by", str(organizer))
    assert code == 0 and "0 people imported" in out and "row 2: registered already" in out
