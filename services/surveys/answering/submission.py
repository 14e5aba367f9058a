"""Submitting a response: the one code path of the answering pages and of the JSON API.

Submissions go through a group commit (shared/group_commit.py): whatever requests are waiting
are checked and written in one transaction, with set-based statements over the batch, so a
burst costs a few round trips and one commit, not several of each per request.

In the batch's transaction, for each submission:
- its survey (one query for the batch) must be open, and an invited survey needs a token;
- its answers are checked against its version's document (the draft's version when it still
  exists, else the current one) before anything is written: refused answers consume nothing;
- its key goes into ``submissions``: a key already there is a repeat (a double click, a retry),
  answered as the first was, writing nothing;
- its invitation, if any, is marked used by ``UPDATE ... AND NOT used``: of concurrent
  submissions with one token, the row lock lets one through; the others find it used and are
  refused, and their keys are deleted again in the same transaction;
- confidential and identified responses are stored with their tallies and ``response.submitted``;
  anonymous ones wait in ``anonymous_pending``, with no time, token or person, for the release
  (release.py) to store them together with others.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from aiohttp import web

from services.surveys.answering import documents, rules, store
from services.surveys.building.definition import SurveyDocument
from services.surveys.building.lifecycle import Phase
from services.surveys.results.recording import Counted, record
from shared.contracts import ResponseSubmitted
from shared.db import DbConnection
from shared.group_commit import GroupCommit
from shared.http import POOL
from shared.outbox import Emission, emit_many

PRODUCER = "surveys"
REGION_DEPTH_MAX = 20  # regions nest a few levels; the bound only guards against a cycle
# One batch at a time per process: every batch of a survey waits for the same tally rows, so a
# second writer only splits the queue into smaller batches that wait in turn (each cross-tab
# cell is locked and written once per batch, however many responses of the batch it counts).
WRITERS = 1


@dataclass(frozen=True)
class Submission:
    slug: str
    key: UUID
    answers: Mapping[str, object]
    token_hash: bytes | None = None
    version: int | None = None  # a draft's version; None: the survey's current one
    language: str | None = None
    from_draft: bool = False  # the key is a draft's: it is deleted with the response stored
    correlation_id: str | None = None


class Status(StrEnum):
    RECORDED = "recorded"
    REPEAT = "repeat"  # the key was recorded before: nothing written
    INVALID = "invalid"
    NO_SURVEY = "no_survey"  # none by that slug, or a draft
    NOT_OPEN = "not_open"
    INVITATION_NEEDED = "invitation_needed"
    INVITATION_UNKNOWN = "invitation_unknown"
    INVITATION_USED = "invitation_used"


@dataclass(frozen=True)
class Outcome:
    status: Status
    errors: Mapping[str, str] = field(default_factory=dict)
    phase: Phase | None = None


@dataclass
class _Accepted:
    """A submission whose survey and answers passed, on its way to being written."""

    n: int
    item: Submission
    survey: store.Survey
    version: int
    document: SurveyDocument
    person_id: UUID | None = None
    campaign_id: UUID | None = None
    region_id: UUID | None = None


async def apply(conn: DbConnection, items: Sequence[Submission]) -> list[Outcome]:
    """A batch's outcomes, in order; run inside its transaction by the group commit."""
    outcomes: list[Outcome | None] = [None] * len(items)
    first_of: dict[UUID, int] = {}
    accepted: list[_Accepted] = []
    for n, accepted_or_outcome in enumerate(await _checked(conn, items)):
        if isinstance(accepted_or_outcome, Outcome):
            outcomes[n] = accepted_or_outcome
        elif items[n].key in first_of:  # the same key twice in a batch: the second follows the first
            continue
        else:
            first_of[items[n].key] = n
            accepted.append(accepted_or_outcome)
    accepted = await _new_keys(conn, accepted, outcomes)
    accepted = await _use_invitations(conn, accepted, outcomes)
    await _place(conn, accepted)
    await _write(conn, accepted)
    for one in accepted:
        outcomes[one.n] = Outcome(Status.RECORDED)
    for n, item in enumerate(items):
        if outcomes[n] is None:
            leader = outcomes[first_of[item.key]]
            assert leader is not None
            outcomes[n] = Outcome(Status.REPEAT) if leader.status is Status.RECORDED else leader
    return [outcome for outcome in outcomes if outcome is not None]


async def _checked(conn: DbConnection, items: Sequence[Submission]) -> list[_Accepted | Outcome]:
    surveys = await store.surveys_by_slug(conn, sorted({item.slug for item in items}))
    now = datetime.now(UTC)
    wanted = set()
    for item in items:
        survey = surveys.get(item.slug)
        if survey is not None:
            wanted.add((survey.id, survey.current_version))
            if item.version is not None:
                wanted.add((survey.id, item.version))
    found = await documents.documents(conn, wanted)
    checked: list[_Accepted | Outcome] = []
    for n, item in enumerate(items):
        survey = surveys.get(item.slug)
        current = survey.phase(now) if survey else Phase.DRAFT
        if survey is None or current is Phase.DRAFT:
            checked.append(Outcome(Status.NO_SURVEY))
            continue
        if current is not Phase.OPEN:
            checked.append(Outcome(Status.NOT_OPEN, phase=current))
            continue
        if survey.access == "invited" and item.token_hash is None:
            checked.append(Outcome(Status.INVITATION_NEEDED))
            continue
        version = survey.current_version
        if item.version is not None and (survey.id, item.version) in found:
            version = item.version
        document = found[(survey.id, version)]
        errors = rules.answer_problems(document, item.answers)
        if item.language is not None and item.language not in document.languages:
            errors["language"] = "is not one of the survey's languages"
        if errors:
            checked.append(Outcome(Status.INVALID, errors=errors))
            continue
        checked.append(_Accepted(n, item, survey, version, document, campaign_id=survey.campaign_id))
    return checked


async def _new_keys(
    conn: DbConnection, accepted: list[_Accepted], outcomes: list[Outcome | None]
) -> list[_Accepted]:
    """Those whose key is new; the others are repeats. Sorted, so that two batches holding the
    same keys wait for each other in one order and cannot deadlock."""
    if not accepted:
        return []
    ordered = sorted(accepted, key=lambda one: one.item.key)
    new = await conn.fetch(
        """INSERT INTO submissions (key, survey_id)
           SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT (key) DO NOTHING RETURNING key""",
        [one.item.key for one in ordered],
        [one.survey.id for one in ordered],
    )
    fresh = {row["key"] for row in new}
    for one in accepted:
        if one.item.key not in fresh:
            outcomes[one.n] = Outcome(Status.REPEAT)
    return [one for one in accepted if one.item.key in fresh]


async def _use_invitations(
    conn: DbConnection, accepted: list[_Accepted], outcomes: list[Outcome | None]
) -> list[_Accepted]:
    """Mark each one's invitation used, or refuse it: the token is unknown, or used already
    (by an earlier submission, a concurrent batch, or one before it in this batch)."""
    invited = [one for one in accepted if one.item.token_hash is not None]
    if not invited:
        return accepted
    rows = await conn.fetch(
        """UPDATE invitations i SET used = true
           FROM unnest($1::bytea[], $2::uuid[]) AS t(token_hash, survey_id)
           WHERE i.token_hash = t.token_hash AND i.survey_id = t.survey_id AND NOT i.used
           RETURNING i.token_hash, i.person_id, i.campaign_id""",
        [one.item.token_hash for one in invited],
        [one.survey.id for one in invited],
    )
    used_now = {row["token_hash"]: row for row in rows}
    refused = []
    for one in invited:
        row = used_now.pop(one.item.token_hash, None)  # popped: a second use in the batch is refused
        if row is None:
            refused.append(one)
            continue
        one.person_id = row["person_id"] if one.survey.mode != "anonymous" else None
        one.campaign_id = row["campaign_id"] or one.survey.campaign_id
    if not refused:
        return accepted
    known = {
        (row["token_hash"], row["survey_id"])
        for row in await conn.fetch(
            "SELECT token_hash, survey_id FROM invitations WHERE token_hash = ANY($1::bytea[])",
            [one.item.token_hash for one in refused],
        )
    }
    for one in refused:
        issued = (one.item.token_hash, one.survey.id) in known
        status = Status.INVITATION_USED if issued else Status.INVITATION_UNKNOWN
        outcomes[one.n] = Outcome(status)
    # A refused submission leaves nothing behind: its key may be sent again.
    await conn.execute(
        "DELETE FROM submissions WHERE key = ANY($1::uuid[])", sorted(one.item.key for one in refused)
    )
    refused_n = {one.n for one in refused}
    return [one for one in accepted if one.n not in refused_n]


async def _place(conn: DbConnection, accepted: list[_Accepted]) -> None:
    """Each one's region: the most specific area holding its ZIP code among the survey's region
    and the regions inside it. A ZIP region is not an area the response is counted in: it is the
    postal code the response already has, and a cross-tab by it would be one cell per ZIP."""
    asked = {
        (one.survey.region_id, zip_code)
        for one in accepted
        if one.survey.region_id is not None and (zip_code := rules.postal_code_of(one.item.answers))
    }
    if not asked:
        return
    rows = await conn.fetch(
        """WITH RECURSIVE asked AS (
               SELECT * FROM unnest($1::uuid[], $2::text[]) AS a(root, zip_code)),
           inside AS (
               SELECT r.id AS root, r.id, 0 AS depth FROM regions r
               WHERE r.id IN (SELECT root FROM asked)
               UNION ALL
               SELECT inside.root, r.id, inside.depth + 1 FROM regions r
               JOIN inside ON r.parent_id = inside.id WHERE inside.depth < $3)
           SELECT DISTINCT ON (asked.root, asked.zip_code) asked.root, asked.zip_code, inside.id
           FROM asked
           JOIN inside ON inside.root = asked.root
           JOIN regions r ON r.id = inside.id AND asked.zip_code = ANY(r.zip_codes)
                          AND r.kind IS DISTINCT FROM 'zip'
           ORDER BY asked.root, asked.zip_code, inside.depth DESC, inside.id""",
        [root for root, _ in asked],
        [zip_code for _, zip_code in asked],
        REGION_DEPTH_MAX,
    )
    region_of = {(row["root"], row["zip_code"]): row["id"] for row in rows}
    for one in accepted:
        one.region_id = region_of.get((one.survey.region_id, rules.postal_code_of(one.item.answers)))


async def _write(conn: DbConnection, accepted: list[_Accepted]) -> None:
    named = [one for one in accepted if one.survey.mode != "anonymous"]
    anonymous = [one for one in accepted if one.survey.mode == "anonymous"]
    if anonymous:
        await conn.execute(
            """INSERT INTO anonymous_pending
                   (survey_id, version, answers, region_id, postal_code, campaign_id)
               SELECT survey_id, version, answers::jsonb, region_id, postal_code, campaign_id
               FROM unnest($1::uuid[], $2::int[], $3::text[], $4::uuid[], $5::text[], $6::uuid[])
                    AS t(survey_id, version, answers, region_id, postal_code, campaign_id)""",
            [one.survey.id for one in anonymous],
            [one.version for one in anonymous],
            [json.dumps(one.item.answers) for one in anonymous],
            [one.region_id for one in anonymous],
            [rules.postal_code_of(one.item.answers) for one in anonymous],
            [one.campaign_id for one in anonymous],
        )
    drafts = sorted(one.item.key for one in accepted if one.item.from_draft)
    if drafts:
        await conn.execute("DELETE FROM drafts WHERE key = ANY($1::uuid[])", drafts)
    # The named responses last: storing them ends with the tallies' row locks (store_responses).
    if named:
        stored = [
            StoredResponse(
                uuid4(),
                one.survey,
                one.version,
                one.document,
                one.item.answers,
                one.region_id,
                one.campaign_id,
                one.person_id,
            )
            for one in named
        ]
        await store_responses(
            conn, stored, submitted=True, correlation_ids=[one.item.correlation_id for one in named]
        )


@dataclass(frozen=True)
class StoredResponse:
    id: UUID
    survey: store.Survey
    version: int
    document: SurveyDocument
    answers: Mapping[str, object]
    region_id: UUID | None
    campaign_id: UUID | None
    person_id: UUID | None = None


async def store_responses(
    conn: DbConnection,
    responses: Sequence[StoredResponse],
    *,
    submitted: bool,
    correlation_ids: Sequence[str | None] | None = None,
) -> None:
    """Insert ``responses`` in their order, emit their ``response.submitted`` and count them in
    the tallies: also how the release stores anonymous ones (``submitted`` False: no
    time is kept)."""
    await conn.execute(
        """INSERT INTO responses (id, survey_id, version, answers, region_id, postal_code, campaign_id,
                                  person_id, submitted_at)
           SELECT id, survey_id, version, answers::jsonb, region_id, postal_code, campaign_id, person_id,
                  CASE WHEN $9 THEN clock_timestamp() END
           FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::uuid[], $6::text[], $7::uuid[],
                       $8::uuid[])
                AS t(id, survey_id, version, answers, region_id, postal_code, campaign_id, person_id)""",
        [r.id for r in responses],
        [r.survey.id for r in responses],
        [r.version for r in responses],
        [json.dumps(r.answers) for r in responses],
        [r.region_id for r in responses],
        [rules.postal_code_of(r.answers) for r in responses],
        [r.campaign_id for r in responses],
        [r.person_id for r in responses],
        submitted,
    )
    correlation = correlation_ids or [None] * len(responses)
    await emit_many(
        conn,
        [
            Emission(
                [
                    ResponseSubmitted(
                        response_id=r.id,
                        survey_id=r.survey.id,
                        organisation_id=r.survey.organisation_id,
                        survey_version=r.version,
                        mode=r.survey.mode,
                        region_id=r.region_id,
                        postal_code=rules.postal_code_of(r.answers),
                        campaign_id=r.campaign_id,
                        respondent_id=r.person_id,
                        demographics=rules.demographics_of(r.answers),
                    )
                ],
                correlation_id=correlation_id,
            )
            for r, correlation_id in zip(responses, correlation, strict=True)
        ],
        producer=PRODUCER,
    )
    # Last: every batch of a survey locks the same tally and cross-tab rows until it commits, so
    # batches wait for each other there; taken last, they are held the shortest time.
    await record(
        conn, [Counted(r.survey.id, r.version, r.document, r.answers, r.region_id) for r in responses]
    )


SUBMISSIONS: web.AppKey[GroupCommit[Submission, Outcome]] = web.AppKey("survey_submissions", GroupCommit)


async def submit(app: web.Application, submission: Submission) -> Outcome:
    return await app[SUBMISSIONS].submit(submission)


def add_group_commit(app: web.Application) -> None:
    """Started and stopped with the web app: its writers commit the submissions of every request."""

    async def start(app: web.Application) -> None:
        app[SUBMISSIONS] = GroupCommit(app[POOL], apply, writers=WRITERS)
        app[SUBMISSIONS].start()

    async def stop(app: web.Application) -> None:
        await app[SUBMISSIONS].stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
