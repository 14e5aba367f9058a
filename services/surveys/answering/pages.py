"""The pages residents answer a survey on, at /surveys/s/<slug>: no account, no JavaScript.

The first page says which mode applies and starts a draft: its random key goes in an HttpOnly
cookie scoped to the survey's path, and in a "continue later" link (``?draft=<key>``, a query,
which no log keeps). Each section is a page; its answers are checked when posted, errors shown
beside their fields with what was typed kept, and saved in the draft. A question that an answer
on the same page makes visible is shown by showing the page again (no script hides it). The
last page submits through the code path of the JSON API (submission.py); the draft's key is
the submission's, so a second click finds it recorded."""

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from babel import Locale, UnknownLocaleError
from babel.dates import format_date

from services.surveys.answering import documents, forms, rules, store
from services.surveys.answering.submission import Status, Submission, submit
from services.surveys.building.definition import Question, SurveyDocument, Text, visible_questions
from services.surveys.building.lifecycle import Phase
from shared import csrf
from shared.http import POOL, SETTINGS, request_id
from shared.i18n import gettext_ as _
from shared.i18n import language_var

DRAFT_COOKIE = "civic_survey_draft"
DRAFT_DAYS = 60


class Opened:
    """The survey a page's address names (open), the document answered, the page's language."""

    def __init__(self, survey: store.Survey, document: SurveyDocument, language: str) -> None:
        self.survey, self.document, self.language = survey, document, language

    def text(self, text: Text | None) -> str:
        return text.in_language(self.language, self.document.main_language) if text else ""

    def languages(self) -> list[tuple[str, str]]:
        """The survey's languages, each named in itself, for the switcher."""
        return [(code, _language_name(code)) for code in self.document.languages]

    def path(self, page: int | None = None) -> str:
        base = f"/surveys/s/{self.survey.slug}"
        return base if page is None else f"{base}/page/{page + 1}"


def _locale(code: str) -> Locale | None:
    try:
        return Locale.parse(code.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None


def _language_name(code: str) -> str:
    locale = _locale(code)
    name = locale.get_display_name(locale) if locale else None
    return name[:1].upper() + name[1:] if name else code


@contextlib.contextmanager
def _speaking(language: str) -> Iterator[None]:
    token = language_var.set(language)
    try:
        yield
    finally:
        language_var.reset(token)


def _render(
    request: web.Request, template: str, language: str, context: Mapping[str, Any], status: int = 200
) -> web.Response:
    token, cookie = csrf.token(request)
    # The switcher's links keep the address's other parameters (an invitation's token).
    switch = [
        (code, name, "?" + request.rel_url.update_query(lang=code).raw_query_string)
        for code, name in context["opened"].languages()
    ]
    with _speaking(language):
        response = aiohttp_jinja2.render_template(
            template,
            request,
            {**context, "language": language, "csrf": token, "switch": switch},
            status=status,
        )
    csrf.set_cookie(response, cookie)
    response.headers["Cache-Control"] = "no-store"
    # The address may hold an invitation's token or a draft's key: never sent on to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _notice(
    request: web.Request, opened: Opened, heading: str, lines: list[str], status: int = 200
) -> web.Response:
    context = {"opened": opened, "heading": heading, "lines": lines}
    return _render(request, "answer_notice.html", opened.language, context, status)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


async def _open(request: web.Request, *wanted: str | None) -> tuple[Opened, web.Response | None]:
    """The survey and its current document in the page's language (``?lang=``, else the first
    of ``wanted`` it is written in, else the reader's, else its main one); and, unless it is
    open, the page to answer with. A draft survey is not found."""
    slug = request.match_info["slug"]
    survey = await store.survey_by_slug(request.app[POOL], slug) if rules.SLUG.match(slug) else None
    current = survey.phase(datetime.now(UTC)) if survey else Phase.DRAFT
    document = (
        await documents.document(request.app[POOL], survey.id, survey.current_version) if survey else None
    )
    if survey is None or document is None or current is Phase.DRAFT:
        raise web.HTTPNotFound()
    language = rules.survey_language([request.query.get("lang"), *wanted, language_var.get()], document)
    opened = Opened(survey, document, language)
    title = opened.text(document.title)
    with _speaking(language):
        if current is Phase.SCHEDULED:
            assert survey.opens_at is not None
            day = format_date(survey.opens_at.date(), "long", locale=_locale(language) or "en")
            return opened, _notice(
                request, opened, title, [_("This survey opens on %(day)s.") % {"day": day}], 409
            )
        if current is Phase.CLOSED:
            closed = _("This survey is closed. Thank you for your interest.")
            return opened, _notice(request, opened, title, [closed], 409)
    return opened, None


def _answered(request: web.Request, opened: Opened) -> web.Response:
    with _speaking(opened.language):
        lines = [_("You have answered this survey already. Thank you.")]
        return _notice(request, opened, opened.text(opened.document.title), lines, 409)


def _invitation_not_valid(request: web.Request, opened: Opened) -> web.Response:
    with _speaking(opened.language):
        lines = [
            _("This invitation link is not valid for this survey."),
            _(
                "Check that the whole link from your invitation was opened, or ask the organisers "
                "for a new one."
            ),
        ]
        return _notice(request, opened, opened.text(opened.document.title), lines, 403)


async def _invitation_refusal(request: web.Request, opened: Opened, token: str | None) -> web.Response | None:
    """The page to answer with when this invitation (or the want of one) may not answer."""
    if token is None:
        if opened.survey.access != "invited":
            return None
        with _speaking(opened.language):
            lines = [_("This survey is answered by invitation only. Open the link in your invitation.")]
            return _notice(request, opened, opened.text(opened.document.title), lines, 403)
    hashed = rules.invitation_hash(token)
    used = await store.invitation_used(request.app[POOL], opened.survey.id, hashed) if hashed else None
    if used is None:
        return _invitation_not_valid(request, opened)
    return _answered(request, opened) if used else None


def _key(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _with_draft_cookie(response: web.Response, opened: Opened, key: uuid.UUID | None) -> web.Response:
    path = opened.path()
    if key is None:
        response.del_cookie(DRAFT_COOKIE, path=path)
    else:
        response.set_cookie(
            DRAFT_COOKIE, str(key), path=path, httponly=True, samesite="Lax", max_age=DRAFT_DAYS * 86400
        )
    return response


def _first_page(
    document: SurveyDocument, answers: Mapping[str, object], start: int, step: int = 1
) -> int | None:
    """The first section from ``start`` (going forward, or back with step -1) that shows a question."""
    shown = {question.id for question in visible_questions(document, answers)}
    page = start
    while 0 <= page < len(document.sections):
        if any(question.id in shown for question in document.sections[page].questions):
            return page
        page += step
    return None


def _mode_lines(mode: str) -> list[str]:
    if mode == "anonymous":
        return [
            _("This survey is anonymous."),
            _(
                "Nothing we keep links your answers to you: not your invitation, not your name, "
                "not the time you answered. Your answers are added to the results together with "
                "other people's."
            ),
        ]
    if mode == "confidential":
        return [
            _("This survey is confidential."),
            _(
                "The organisers may know that you answered, but they report only totals, never "
                "your own answers."
            ),
        ]
    return [
        _("In this survey your answers are linked to you."),
        _("The organisers can see which answers are yours."),
    ]


def _start(
    request: web.Request,
    opened: Opened,
    token: str | None,
    continue_to: str | None,
    errors: Mapping[str, str],
    status: int = 200,
) -> web.Response:
    with _speaking(opened.language):
        context = {
            "opened": opened,
            "mode_lines": _mode_lines(opened.survey.mode),
            "invitation": token or "",
            "pages": len(opened.document.sections),
            "continue_to": continue_to,
            "errors": errors,
        }
        return _render(request, "answer_start.html", opened.language, context, status)


async def start_page(request: web.Request) -> web.Response:
    """GET /surveys/s/{slug}: the first page; or, by a "continue later" link, back to the draft."""
    opened, refused = await _open(request)
    if refused is not None:
        return refused
    pool = request.app[POOL]
    if "draft" in request.query:
        key = _key(request.query["draft"])
        found = await store.draft(pool, key) if key else None
        if key is not None and found is not None and found.survey_id == opened.survey.id:
            return _with_draft_cookie(_see_other(opened.path(found.page)), opened, key)
        if key is not None and await store.submitted(pool, key):
            return _answered(request, opened)
    token = request.query.get("invitation")
    refusal = await _invitation_refusal(request, opened, token)
    if refusal is not None:
        return refusal
    existing = await _draft_of(request, opened)
    same_invitation = existing is not None and existing.token_hash == rules.invitation_hash(token)
    continue_to = opened.path(existing.page) if existing is not None and same_invitation else None
    return _start(request, opened, token, continue_to, {})


async def _draft_of(request: web.Request, opened: Opened) -> store.Draft | None:
    key = _key(request.cookies.get(DRAFT_COOKIE))
    found = await store.draft(request.app[POOL], key) if key else None
    return found if found is not None and found.survey_id == opened.survey.id else None


def _expired() -> dict[str, str]:
    return {"form": _("This form had expired. Send it again.")}


async def begin(request: web.Request) -> web.Response:
    """POST /surveys/s/{slug}: a new draft, and on to the first page."""
    form = await request.post()
    opened, refused = await _open(request, str(form.get("lang", "")))
    if refused is not None:
        return refused
    token = str(form.get("invitation") or "") or None
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        with _speaking(opened.language):
            return _start(request, opened, token, None, _expired(), 422)
    refusal = await _invitation_refusal(request, opened, token)
    if refusal is not None:
        return refusal
    key = uuid.uuid4()
    first = _first_page(opened.document, {}, 0) or 0
    survey = opened.survey
    hashed = rules.invitation_hash(token)
    await store.start_draft(
        request.app[POOL], key, survey.id, survey.current_version, hashed, opened.language
    )
    return _with_draft_cookie(_see_other(opened.path(first)), opened, key)


class _Answering:
    """A page of a draft: the survey, the draft, the document it answers, the section shown."""

    def __init__(self, opened: Opened, draft: store.Draft, document: SurveyDocument, page: int) -> None:
        self.opened, self.draft, self.document, self.page = opened, draft, document, page
        self.section = document.sections[page]

    def shown(self, answers: Mapping[str, object]) -> list[Question]:
        visible = {question.id for question in visible_questions(self.document, answers)}
        return [question for question in self.section.questions if question.id in visible]


async def _answering(request: web.Request, form_language: str | None = None) -> _Answering | web.Response:
    """The page's draft and section; else the page to answer with (the draft is submitted: the
    already-answered page; none: the first page)."""
    pool = request.app[POOL]
    key = _key(request.cookies.get(DRAFT_COOKIE))
    found = await store.draft(pool, key) if key else None
    opened, refused = await _open(request, form_language, found.language if found else None)
    if refused is not None:
        return refused
    if found is None or found.survey_id != opened.survey.id:
        if key is not None and await store.submitted(pool, key):
            return _with_draft_cookie(_answered(request, opened), opened, None)
        return _see_other(opened.path())
    document = await documents.document(pool, opened.survey.id, found.version) or opened.document
    page = int(request.match_info["page"]) - 1
    if not 0 <= page < len(document.sections):
        raise web.HTTPNotFound()
    opened = Opened(opened.survey, document, opened.language)
    return _Answering(opened, found, document, page)


def _show(
    request: web.Request,
    at: _Answering,
    answers: Mapping[str, object],
    typed: forms.Typed,
    errors: Mapping[str, str],
    status: int = 200,
    more: bool = False,
) -> web.Response:
    opened = at.opened
    questions = at.shown(answers)
    by_id = {question.id: question for question in questions}
    with _speaking(opened.language):
        summary = [
            ("#" + (forms.first_input(by_id[path]) if path in by_id else forms.field_id(path)), message)
            for path, message in errors.items()
            if path != "form"
        ]
        last = _first_page(at.document, answers, at.page + 1) is None
        base = request.app[SETTINGS].public_base_url
        context = {
            "opened": opened,
            "section": at.section,
            "page": at.page,
            "pages": len(at.document.sections),
            "questions": questions,
            "typed": typed,
            "errors": errors,
            "summary": summary,
            "more": more,
            "last": last,
            "back": _first_page(at.document, answers, at.page - 1, -1) is not None,
            "later": f"{base}{opened.path()}?draft={at.draft.key}",
            "forms": forms,
        }
        return _render(request, "answer_page.html", opened.language, context, status)


async def show_page(request: web.Request) -> web.Response:
    """GET /surveys/s/{slug}/page/{page}: a section of the draft, with its answers so far."""
    at = await _answering(request)
    if isinstance(at, web.Response):
        return at
    answers = at.draft.answers
    if not at.shown(answers):
        elsewhere = _first_page(at.document, answers, at.page) or _first_page(
            at.document, answers, at.page, -1
        )
        return _see_other(at.opened.path(elsewhere or 0))
    if at.opened.language != at.draft.language:  # the switcher was used: the draft keeps it
        await store.save_draft(request.app[POOL], at.draft.key, answers, at.draft.page, at.opened.language)
    return _show(request, at, answers, forms.typed_from(at.shown(answers), answers), {})


def _messages(
    at: _Answering, problems: Mapping[str, str], answers: Mapping[str, object], asked: set[str]
) -> dict[str, str]:
    """The problems with the answers to the questions this page asked, as told to the resident."""
    questions = {question.id: question for question in at.section.questions}
    with _speaking(at.opened.language):
        return {
            path: forms.message(questions[path.split(".")[0]], path, path.split(".")[0] in answers)
            for path in problems
            if path.split(".")[0] in asked
        }


async def post_page(request: web.Request) -> web.Response:
    """POST /surveys/s/{slug}/page/{page}: check and save this page's answers, then the next
    page, the same one again (errors, or questions its answers opened), or the submission."""
    form = await request.post()
    at = await _answering(request, str(form.get("lang", "")) or None)
    if isinstance(at, web.Response):
        return at
    pool = request.app[POOL]
    asked = {str(q) for q in form.getall("shown", [])} & {question.id for question in at.section.questions}
    questions = [question for question in at.section.questions if question.id in asked]
    typed = forms.typed_of(questions, form)
    if not csrf.is_valid(request, form.get(csrf.FIELD)):
        with _speaking(at.opened.language):
            return _show(request, at, at.draft.answers, typed, _expired(), 422)
    answers = _merged(at, asked, forms.answers_of(questions, typed))
    errors = _messages(at, rules.answer_problems(at.document, answers), answers, asked)
    if form.get("go") == "back":
        kept = {question: answer for question, answer in answers.items() if question not in errors}
        back = _first_page(at.document, kept, at.page - 1, -1)
        await store.save_draft(
            pool, at.draft.key, kept, at.page if back is None else back, at.opened.language
        )
        return _see_other(at.opened.path(back) if back is not None else at.opened.path())
    if errors:
        shown = forms.typed_from(at.shown(answers), answers) | typed
        return _show(request, at, answers, shown, errors, 422)
    opened_here = [question for question in at.shown(answers) if question.id not in asked]
    following = _first_page(at.document, answers, at.page + 1)
    await store.save_draft(
        pool,
        at.draft.key,
        answers,
        at.page if opened_here or following is None else following,
        at.opened.language,
    )
    if opened_here:
        return _show(request, at, answers, forms.typed_from(at.shown(answers), answers), {}, more=True)
    if following is not None:
        return _see_other(at.opened.path(following))
    return await _submit(request, at, answers, typed)


def _merged(at: _Answering, asked: set[str], given: Mapping[str, object]) -> dict[str, object]:
    """The draft's answers with this page's replaced, and none kept for a question they hide."""
    answers = {question: answer for question, answer in at.draft.answers.items() if question not in asked}
    answers.update(given)
    visible = {question.id for question in visible_questions(at.document, answers)}
    return {question: answer for question, answer in answers.items() if question in visible}


async def _submit(
    request: web.Request, at: _Answering, answers: Mapping[str, object], typed: forms.Typed
) -> web.Response:
    draft, opened = at.draft, at.opened
    outcome = await submit(
        request.app,
        Submission(
            slug=opened.survey.slug,
            key=draft.key,
            answers=answers,
            token_hash=draft.token_hash,
            version=draft.version,
            language=opened.language,
            from_draft=True,
            correlation_id=None if opened.survey.mode == "anonymous" else request_id(request),
        ),
    )
    if outcome.status in (Status.RECORDED, Status.REPEAT):
        return _with_draft_cookie(_see_other(f"{opened.path()}/thanks?lang={opened.language}"), opened, None)
    if outcome.status is Status.INVALID:  # an earlier page's answer no longer holds
        with _speaking(opened.language):
            errors = {"form": _("An answer on an earlier page needs a change: go back to it.")}
        return _show(request, at, answers, typed, errors, 422)
    if outcome.status is Status.INVITATION_USED:
        return _with_draft_cookie(_answered(request, opened), opened, None)
    if outcome.status in (Status.INVITATION_UNKNOWN, Status.INVITATION_NEEDED):
        return _invitation_not_valid(request, opened)
    if outcome.status is Status.NO_SURVEY:
        raise web.HTTPNotFound()
    _reopened, closed = await _open(request)
    return closed or _answered(request, opened)


async def thanks(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    survey = await store.survey_by_slug(request.app[POOL], slug) if rules.SLUG.match(slug) else None
    document = (
        await documents.document(request.app[POOL], survey.id, survey.current_version) if survey else None
    )
    if survey is None or document is None or survey.status == "draft":
        raise web.HTTPNotFound()
    opened = Opened(
        survey, document, rules.survey_language([request.query.get("lang"), language_var.get()], document)
    )
    with _speaking(opened.language):
        lines = [_("Your answers have been received. Thank you for taking part.")]
        if survey.mode == "anonymous":
            lines.append(
                _(
                    "They will be added to the results together with other people's, so that no "
                    "one's can be told apart."
                )
            )
        return _notice(request, opened, _("Thank you"), lines)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/surveys/s/{slug}", start_page)
    app.router.add_post("/surveys/s/{slug}", begin)
    app.router.add_get(r"/surveys/s/{slug}/page/{page:\d{1,3}}", show_page)
    app.router.add_post(r"/surveys/s/{slug}/page/{page:\d{1,3}}", post_page)
    app.router.add_get("/surveys/s/{slug}/thanks", thanks)
