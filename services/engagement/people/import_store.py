"""The SQL of the console's people pages: importing people (set-based, one transaction) and the
list of people.

An import writes in one transaction: the rows (COPY into a temporary table, then one INSERT ...
SELECT per chunk), each new person's ``person.registered`` through the outbox (the aggregate and
sequence rules of registration, ``emit_many``), the import itself (its file's name, when, who, how
many: a campaign's audience names it as a list) and one audit entry naming the importing account.
A row with a problem, anywhere, raises ``ImportRefused`` before anything is written.

People already there, found by e-mail address (case-blind, as the unique index) or by phone
number, are skipped and left as they were: a known address changes nothing, as at
registration; a person's name and language are theirs to change; and no event could tell
surveys and notifications of the change (``person.registered`` again is a second registration
to them). Imported people are not asked for consent to be contacted, and nothing is sent to
them: consent needs the person's own confirmation (registration's double opt-in)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.engagement.accounts import store as accounts_store
from services.engagement.community.models import PAGE_SIZE
from services.engagement.people.importing import ImportedPerson, ParsedFile, RowError, region_errors
from shared.auth import Account
from shared.contracts import PersonRegistered
from shared.db import DbConnection
from shared.outbox import Emission, emit_many

PRODUCER = "engagement"
# People written per statement: the progress bar moves between them.
CHUNK = 10_000
_COLUMNS = ("id", "display_name", "email", "phone", "language", "postal_code", "region_id", "role", "tags")


class ImportRefused(Exception):
    """The file has problems; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problems")
        self.errors = sorted(errors, key=lambda e: (e.row, e.column))


@dataclass(frozen=True)
class Importer:
    """Who imports, in which request (or CLI run): what the audit entry and the events name."""

    account: Account
    service: str
    request_id: str


@dataclass(frozen=True)
class Imported:
    import_id: UUID
    created: int
    skipped_rows: list[int]  # people already there
    repeated_rows: list[int]  # the same person again in the file


async def import_people(
    conn: DbConnection,
    parsed: ParsedFile,
    importer: Importer,
    *,
    file_name: str,
    progress: Callable[[int], None] | None = None,
) -> Imported:
    """All of the file, or nothing; ``progress`` hears of each chunk of people written.
    ``file_name`` is the file's own name, without its folders: what organizers know it by."""
    import_id = uuid.uuid4()
    async with conn.transaction():
        # Imports one at a time: two importing one address would each find it new.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('civic.people.import'))")
        regions = await _regions(conn, {p.region for p in parsed.people if p.region is not None})
        errors = parsed.errors + region_errors(parsed.people, regions)
        if errors:
            raise ImportRefused(errors)
        await conn.execute(
            f"""CREATE TEMPORARY TABLE people_import ON COMMIT DROP AS
                SELECT {", ".join(_COLUMNS)} FROM people WITH NO DATA"""  # noqa: S608 (names, not values)
        )
        skipped: list[int] = []
        for start in range(0, len(parsed.people), CHUNK):
            chunk = parsed.people[start : start + CHUNK]
            skipped += await _write(conn, chunk, regions, import_id, importer)
            if progress is not None:
                progress(len(chunk))
        created = len(parsed.people) - len(skipped)
        await conn.execute(
            """INSERT INTO people_imports (id, file_name, account_id, people_created)
               VALUES ($1, $2, $3, $4)""",
            import_id,
            file_name,
            importer.account.id,
            created,
        )
        await accounts_store.record_action(
            conn,
            importer.account.id,
            importer.account.roles_text(),
            "people.imported",
            f"import:{import_id}",
            importer.service,
            importer.request_id,
        )
    return Imported(import_id, created, sorted(skipped), parsed.repeated_rows)


async def _regions(conn: DbConnection, typed: set[str]) -> dict[str, list[str]]:
    """Each region as typed (an id, or a name, case-blind) -> the ids of the regions it names."""
    ids = {text: UUID(text) for text in typed if _is_uuid(text)}
    by_id = await conn.fetch("SELECT id FROM regions WHERE id = ANY($1::uuid[])", list(ids.values()))
    known = {row["id"] for row in by_id}
    by_name = await conn.fetch(
        """SELECT lower(name) AS name, array_agg(id::text ORDER BY id) AS ids FROM regions
           WHERE lower(name) = ANY($1::text[]) GROUP BY lower(name)""",
        [text.lower() for text in typed if text not in ids],
    )
    named = {row["name"]: row["ids"] for row in by_name}
    found = {text: [str(region_id)] for text, region_id in ids.items() if region_id in known}
    return found | {text: named[text.lower()] for text in typed if text.lower() in named and text not in ids}


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


async def _write(
    conn: DbConnection,
    chunk: list[ImportedPerson],
    regions: dict[str, list[str]],
    import_id: UUID,
    importer: Importer,
) -> list[int]:
    """Write the new people of ``chunk`` and their events; returns the rows skipped."""
    by_id = {uuid.uuid4(): person for person in chunk}
    await conn.execute("TRUNCATE people_import")
    await conn.copy_records_to_table(
        "people_import",
        columns=_COLUMNS,
        records=(
            (
                person_id,
                p.person.display_name,
                p.person.email,
                p.person.phone,
                p.person.language,
                p.person.postal_code,
                UUID(regions[p.region][0]) if p.region is not None else None,
                p.role.value,
                list(p.tags),
            )
            for person_id, p in by_id.items()
        ),
    )
    inserted = await conn.fetch(
        """INSERT INTO people (id, display_name, email, phone, language, postal_code, region_id,
                               role, tags, consent_to_contact, import_id)
           SELECT i.id, i.display_name, i.email, i.phone, i.language, i.postal_code, i.region_id,
                  i.role, i.tags, false, $1
           FROM people_import i
           WHERE NOT EXISTS (SELECT FROM people p WHERE lower(p.email) = lower(i.email))
             AND NOT EXISTS (SELECT FROM people p WHERE p.phone = i.phone)
           -- An address a registration commits meanwhile: that person is there, so skipped.
           ON CONFLICT DO NOTHING
           RETURNING id, registered_at""",
        import_id,
    )
    emissions = [
        Emission(
            [
                PersonRegistered(
                    person_id=row["id"],
                    language=by_id[row["id"]].person.language,
                    postal_code=by_id[row["id"]].person.postal_code,
                    registered_at=row["registered_at"],
                )
            ],
            f"person:{row['id']}",
            correlation_id=importer.request_id,
            actor=f"account:{importer.account.id}",
        )
        for row in inserted
    ]
    if emissions:
        await emit_many(conn, emissions, producer=PRODUCER)
    written = {row["id"] for row in inserted}
    return [p.row for person_id, p in by_id.items() if person_id not in written]


async def people_page(conn: DbConnection | asyncpg.Pool, search: str, offset: int) -> list[asyncpg.Record]:
    """A page of people by name, searched by a case-blind part of the name or the e-mail
    address, a whole ZIP or a whole tag; with their current consent and the search's total."""
    return await conn.fetch(
        """WITH found AS (
               SELECT p.id, p.display_name, p.language, p.postal_code, p.role, p.tags, p.region_id,
                      p.consent_to_contact, p.consent_confirmed_at, count(*) OVER () AS total
               FROM people p
               WHERE $1 = '' OR p.display_name ILIKE $2 OR p.email ILIKE $2
                     OR p.postal_code = upper($1) OR lower($1) = ANY (p.tags)
               ORDER BY lower(p.display_name), p.id OFFSET $3 LIMIT $4)
           SELECT f.*, r.name AS region_name,
                  coalesce((SELECT array_agg(c.channel || ':' || c.purpose ORDER BY c.channel, c.purpose)
                            FROM (SELECT DISTINCT ON (channel, purpose) channel, purpose, granted
                                  FROM consent_changes WHERE person_id = f.id
                                  ORDER BY channel, purpose, id DESC) c
                            WHERE c.granted), '{}') AS consents
           FROM found f LEFT JOIN regions r ON r.id = f.region_id
           ORDER BY lower(f.display_name), f.id""",
        search,
        _like(search),
        offset,
        PAGE_SIZE,
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
