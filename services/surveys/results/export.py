"""A survey's responses as CSV or JSON, for its organizers, streamed from a cursor so that a
survey of a million responses is never held in memory.

What a response carries depends on the survey's mode. Anonymous: the random response id, the
version, the postal code and the answers, nothing else (no region or campaign id, no time).
Confidential: also its region, campaign and time, never the person. Identified: also the person.
In the CSV every question of every version is a column (a choice's "other" text another);
a text that a spreadsheet would run as a formula (=, +, -, @ first) is written with a ' before it."""

import csv
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg
from aiohttp import web

from services.surveys.building.definition import MultipleChoice, Ranking, SingleChoice
from services.surveys.results import store
from services.surveys.results.report import Asked

BATCH = 500  # rows per chunk written to the client
_ALWAYS = {"response_id": "id", "version": "version", "postal_code": "postal_code"}
_NOT_ANONYMOUS = {"region_id": "region_id", "campaign_id": "campaign_id", "submitted_at": "submitted_at"}
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def columns(mode: str) -> dict[str, str]:
    """The responses' columns the survey's mode lets an export carry (name -> SQL), answers last."""
    chosen = dict(_ALWAYS)
    if mode != "anonymous":
        chosen.update(_NOT_ANONYMOUS)
    if mode == "identified":
        chosen["person_id"] = "person_id"
    chosen["answers"] = "answers::text"  # as PostgreSQL writes it: no decoding and encoding again
    return chosen


def answer_columns(asked: Sequence[Asked]) -> list[tuple[str, str, Callable[[Any], str]]]:
    """(CSV header, question id, how its answer is written) per question: a choice's options as
    ids separated by ';' and its "other" text in a column of its own; a ranking's, most preferred
    first."""
    found: list[tuple[str, str, Callable[[Any], str]]] = []
    for a in asked:
        question = a.question
        if isinstance(question, SingleChoice | MultipleChoice):
            found.append((question.id, question.id, _chosen))
            if any(getattr(q, "other", None) is not None for q in (question, *(old for old, _d in a.older))):
                found.append((f"{question.id}.other", question.id, _other))
        elif isinstance(question, Ranking):
            found.append((question.id, question.id, lambda answer: ";".join(answer)))
        else:
            found.append((question.id, question.id, str))
    return found


def _chosen(answer: Mapping[str, Any]) -> str:
    choice = answer.get("choice")
    return choice if isinstance(choice, str) else ";".join(answer.get("choices") or [])


def _other(answer: Mapping[str, Any]) -> str:
    other = answer.get("other")
    return other if isinstance(other, str) else ""


def cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet shows and does not run."""
    if value is None:
        return ""
    text = str(value)
    if _FORMULA.match(text) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_row(
    row: asyncpg.Record, fixed: Sequence[str], answered: Sequence[tuple[str, str, Callable[[Any], str]]]
) -> list[str]:
    answers = json.loads(row["answers"])
    values = [cell(row[name]) for name in fixed]
    for _header, question, written in answered:
        answer = answers.get(question)
        try:
            values.append(cell(None if answer is None else written(answer)))
        except (AttributeError, TypeError):
            # An answer of another form than this version's question takes (a question whose type
            # changed between versions): written as it was stored.
            values.append(cell(json.dumps(answer)))
    return values


def json_row(row: asyncpg.Record, fixed: Sequence[str]) -> str:
    """One response as JSON, its answers as PostgreSQL stored them (already JSON)."""
    head = {name: None if row[name] is None else str(row[name]) for name in fixed}
    head["version"] = row["version"]
    return json.dumps(head)[:-1] + ', "answers": ' + row["answers"] + "}"


async def _stream(
    request: web.Request, pool: asyncpg.Pool, found: asyncpg.Record, kind: str
) -> web.StreamResponse:
    chosen = columns(found["mode"])
    fixed = [name for name in chosen if name != "answers"]
    asked = (await _asked(pool, found)) if kind == "csv" else []
    answered = answer_columns(asked)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8" if kind == "csv" else "application/json",
            "Content-Disposition": f'attachment; filename="{found["slug"]}-responses.{kind}"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if kind == "csv":
        writer.writerow([*fixed, *(header for header, _q, _w in answered)])
    else:
        buffer.write(
            json.dumps({"survey_id": str(found["id"]), "mode": found["mode"]})[:-1] + ', "responses": ['
        )
    count = 0
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        async for row in store.responses(conn, found["id"], chosen):
            if kind == "csv":
                writer.writerow(csv_row(row, fixed, answered))
            else:
                buffer.write(("," if count else "") + json_row(row, fixed))
            count += 1
            if count % BATCH == 0:
                await response.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
    if kind == "json":
        buffer.write("]}")
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


async def _asked(pool: asyncpg.Pool, found: asyncpg.Record) -> list[Asked]:
    return await store.asked_of(pool, found["id"], found["current_version"])


async def csv_export(request: web.Request, pool: asyncpg.Pool, found: asyncpg.Record) -> web.StreamResponse:
    return await _stream(request, pool, found, "csv")


async def json_export(request: web.Request, pool: asyncpg.Pool, found: asyncpg.Record) -> web.StreamResponse:
    return await _stream(request, pool, found, "json")
