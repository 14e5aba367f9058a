"""Every write an organizer makes to a survey, each with its audit entry (``organizer.acted``,
for engagement's audit log: shared/audit.py) in the same transaction: the API and the console
pages both write through here, so both keep one set of rules (a draft's edit replaces its
version, an open survey's adds one, a closed one's is refused; only a draft may be deleted)."""

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Self
from uuid import UUID

import asyncpg
from aiohttp import web

from services.surveys.building import store
from services.surveys.building.closing import announce_closing
from services.surveys.building.definition import document_errors
from services.surveys.building.editing import Edit, Step, deletable, edit_in, retyped_questions, status_after
from services.surveys.building.lifecycle import phase
from services.surveys.building.models import NewSurvey, Schedule
from shared.audit import Acting
from shared.auth import Account
from shared.db import DbConnection
from shared.http import POOL


class Refusal(Enum):
    """Why a write was refused: (status, what to say)."""

    NOT_FOUND = (404, "no such survey")
    CLOSED = (409, "the survey is closed: its document and responses are final")
    STEP = (409, "not allowed now: a survey goes from draft to open to closed, never back")
    FIXED_WHEN_OPEN = (409, "mode and access change only while the survey is a draft")
    NOT_DRAFT = (409, "only a draft may be deleted: an opened survey keeps its responses")


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.name)
        self.refusal = refusal


class Invalid(Exception):
    """The document, or a setting, was refused: (field path, message) per problem."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


def new_slug() -> str:
    """The survey's link: 80 random bits in lower-case base32 (16 characters), which nobody can
    guess from another survey's (the public link is the only thing guarding a draft's)."""
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


def checked_text(document: object, prefix: str = "") -> str:
    """The document as the JSON text to store, once it is valid; else Invalid."""
    errors = document_errors(document)
    if not errors:
        try:
            return store.document_text(document)
        except ValueError:
            errors = [("", "numbers must be finite")]
    raise Invalid(
        [(prefix + field if field else prefix.rstrip(".") or "(body)", message) for field, message in errors]
    )


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Writer:
    pool: asyncpg.Pool
    acting: Acting

    @classmethod
    def of(cls, request: web.Request, account: Account) -> Self:
        return cls(request.app[POOL], Acting.of(request, account))

    async def _audit(self, conn: DbConnection, action: str, target: str) -> None:
        """Told to engagement's audit log (organizer.acted), in the write's transaction."""
        await self.acting.record(conn, action, target)

    async def create(self, survey: NewSurvey) -> UUID:
        text = checked_text(survey.document, "document.")
        async with self.pool.acquire() as conn, conn.transaction():
            survey_id = await store.insert(conn, survey, new_slug(), text)
            await self._audit(conn, "survey.created", f"survey:{survey_id}")
        return survey_id

    async def _locked(self, conn: DbConnection, survey_id: UUID) -> asyncpg.Record:
        row = await store.lock(conn, survey_id)
        if row is None:
            raise Refused(Refusal.NOT_FOUND)
        return row

    async def save_document(self, survey_id: UUID, document: Any) -> int:
        """The draft's version replaced, or a new version of an open survey; its number."""
        text = checked_text(document)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, survey_id)
            edit = edit_in(phase(row["status"], row["opens_at"], row["closes_at"], _now()))
            if edit is Edit.REFUSED:
                raise Refused(Refusal.CLOSED)
            version = row["current_version"]
            if edit is Edit.REPLACE:
                await store.replace_version(conn, survey_id, version, text)
                await self._audit(conn, "survey.document_replaced", f"survey:{survey_id} version:{version}")
                return int(version)
            earlier = await store.earlier_documents(conn, survey_id, version + 1)
            retyped = retyped_questions(earlier, document)
            if retyped:
                raise Invalid(retyped)
            await store.add_version(conn, survey_id, version + 1, text)
            await self._audit(conn, "survey.version_added", f"survey:{survey_id} version:{version + 1}")
            return int(version) + 1

    async def change_settings(self, survey_id: UUID, changes: dict[str, Any]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, survey_id)
            if row["status"] != "draft" and any(
                name in changes and changes[name] != row[name] for name in ("mode", "access")
            ):
                raise Refused(Refusal.FIXED_WHEN_OPEN)
            schedule = {name: changes.get(name, row[name]) for name in ("opens_at", "closes_at")}
            _check_schedule(schedule)
            if changes:
                await store.change_settings(conn, survey_id, changes)
            await self._audit(conn, "survey.settings_changed", f"survey:{survey_id}")

    async def take(self, survey_id: UUID, step: Step, schedule: Schedule | None = None) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, survey_id)
            status = status_after(row["status"], step)
            if status is None:
                raise Refused(Refusal.STEP)
            if schedule is not None:
                times = schedule.model_dump(exclude_unset=True)
                _check_schedule({"opens_at": row["opens_at"], "closes_at": row["closes_at"], **times})
                if times:
                    await store.change_settings(conn, survey_id, times)
            await store.set_status(conn, survey_id, status)
            if step is Step.CLOSE:
                await announce_closing(conn, survey_id, self.acting.request_id)
            await self._audit(
                conn, f"survey.{'opened' if step is Step.OPEN else 'closed'}", f"survey:{survey_id}"
            )

    async def delete(self, survey_id: UUID) -> None:
        """The draft and everything kept of it, in one transaction; its audit entry stays."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await self._locked(conn, survey_id)
            if not deletable(row["status"]):
                raise Refused(Refusal.NOT_DRAFT)
            await store.delete(conn, survey_id)
            await self._audit(conn, "survey.deleted", f"survey:{survey_id}")


def _check_schedule(schedule: dict[str, datetime | None]) -> None:
    """Invalid unless the survey closes after it opens (the table's CHECK, said by field)."""
    opens_at, closes_at = schedule["opens_at"], schedule["closes_at"]
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise Invalid([("closes_at", "must be after opens_at")])
