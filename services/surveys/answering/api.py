"""The residents' JSON API: POST /api/v1/surveys/{slug}/responses, public (no account).

Kept lean, as the ingest benchmark posts here at a high rate: the handler parses the body and
hands the submission to the group commit, which reads the surveys of a whole batch at once and
parses each version's document once (documents.py)."""

from typing import Annotated, Any
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.surveys.answering import pages
from services.surveys.answering.rules import SLUG, TOKEN, invitation_hash
from services.surveys.answering.submission import Status, Submission, add_group_commit, submit
from services.surveys.building.definition import Identifier, LanguageCode
from shared.http import request_id
from shared.openapi import Operation
from shared.problems import Problem, parse_json

Token = Annotated[str, StringConstraints(pattern=TOKEN)]


class ResponseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    submission_key: UUID = Field(description="a random key minted with the form: a retry sends it again")
    invitation: Token | None = Field(default=None, description="the token of the invitation link")
    language: LanguageCode | None = None
    # additionalProperties: the document says what the model refuses, a key that is no question id.
    answers: dict[Identifier, Any] = Field(
        max_length=1000,
        description="question id -> answer",
        json_schema_extra={"additionalProperties": False},
    )


class ResponseRecorded(BaseModel):
    status: str = "recorded"


async def post_response(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    if not SLUG.match(slug):
        raise Problem(404, "No such survey")
    body = await parse_json(request, ResponseRequest)
    outcome = await submit(
        request.app,
        Submission(
            slug=slug,
            key=body.submission_key,
            answers=body.answers,
            token_hash=invitation_hash(body.invitation),
            language=body.language,
            correlation_id=request_id(request),
        ),
    )
    status = outcome.status
    if status in (Status.RECORDED, Status.REPEAT):
        return web.Response(
            status=201 if status is Status.RECORDED else 200,
            text=ResponseRecorded().model_dump_json(),
            content_type="application/json",
        )
    if status is Status.INVALID:
        errors = [
            {"field": f"answers.{path}", "message": message} for path, message in outcome.errors.items()
        ]
        raise Problem(422, "Invalid answers", "check the answers named in errors", errors=errors)
    raise Problem(*REFUSALS[status])


REFUSALS: dict[Status, tuple[int, str, str]] = {
    Status.NO_SURVEY: (404, "No such survey", "no survey is answered at this address"),
    Status.NOT_OPEN: (409, "The survey is not open", "it has not opened yet, or it has closed"),
    Status.INVITATION_NEEDED: (403, "Invitation needed", "this survey is answered by invitation only"),
    Status.INVITATION_UNKNOWN: (403, "Unknown invitation", "no invitation of this survey has that token"),
    Status.INVITATION_USED: (409, "Invitation used", "this invitation has been answered already"),
}


OPERATIONS = (
    Operation(
        "POST",
        "/api/v1/surveys/{slug}/responses",
        "Answer a survey (a repeat of a submission_key already recorded answers 200, writing nothing)",
        request=ResponseRequest,
        response=ResponseRecorded,
        status=201,
        problems=(403, 404, 409),
        public=True,
    ),
)


def add_routes(app: web.Application) -> None:
    add_group_commit(app)
    app.router.add_post("/api/v1/surveys/{slug}/responses", post_response)
    pages.add_routes(app)
