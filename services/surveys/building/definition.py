"""A survey's document (what an organizer posts, and exports back unchanged) and the rules of
answering it. No I/O.

A document is written in ``languages``; every human text is a ``Text`` (language -> string) that
must have the ``main_language``, which stands in for a translation that is missing. Sections are
the survey's pages; each question has an id chosen by its author, stable across edits so that
answers keep their meaning, and may be shown only if (``show_if``) earlier answers say so.

How problems are reported: ``parse_document`` raises pydantic's ``ValidationError`` and every
error's ``loc`` is the path of the field (or question) at fault. Checks of one field or one
question are pydantic's own; checks across the document (unique ids, earlier-only references,
texts in the main language and only in the survey's languages) run in ``SurveyDocument``'s
validator and raise ``survey_document`` errors located at the field, e.g.
``sections.0.questions.2.show_if.question``. Pydantic's own locations also name the union's tag
(``sections.0.questions.2.likert.labels``): ``document_errors`` gives every problem as (dotted
field path without tags, message), for the API to answer with.

A respondent's answers are a JSON object keyed by question id; ``check_answers`` returns the
problems as {path: message}, the path being the question id (``q.other`` for its "other" text):

- ``single_choice``: ``{"choice": option_id}``, or ``{"other": text}`` when the question offers
  "other, please specify"
- ``multiple_choice``: ``{"choices": [option_id, ...], "other": text}``, "other" optional and
  counted as one choice
- ``likert``: 1..points; ``rating``: 0..10; ``number``: a number; ``ranking``: every option id
  once, most preferred first; ``short_text``/``long_text``: a string; ``date``: ``YYYY-MM-DD``

A missing answer and ``null`` both mean not answered."""

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal, Self, TypeGuard, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    Strict,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

# The bands are the platform's (shared/demographics.py, also engagement's baselines'), so that
# answers to the demographics section are counted in exactly the bands of the population.
from shared.demographics import CATALOGUE, Band, Dimension

MAX_LANGUAGES = 10
MAX_CONDITION_DEPTH = 4
SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 5000
OTHER_TEXT_MAX = 200
RATING_MAX = 10

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
# Options may start with a digit: the baselines' bands are codes such as 18_24.
OptionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,39}$")]
Loc = tuple[str | int, ...]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


_Wording = Annotated[str, Field(min_length=1, max_length=2000)]


class Text(RootModel[dict[LanguageCode, _Wording]]):
    """A human text in one or more of the survey's languages; the main language is required."""

    model_config = ConfigDict(frozen=True)
    root: dict[LanguageCode, _Wording] = Field(min_length=1, max_length=MAX_LANGUAGES)

    def in_language(self, language: str, main_language: str) -> str:
        return self.root.get(language) or self.root[main_language]


class Option(BaseModel):
    model_config = _FROZEN
    id: OptionId
    label: Text


Options = Annotated[tuple[Option, ...], Field(min_length=2, max_length=50)]


# Conditions on earlier answers. Which question and option they name is checked by the document.
class Equals(BaseModel):
    """The answer is this option (for a multiple choice: includes it), or this number."""

    model_config = _FROZEN
    kind: Literal["equals"] = "equals"
    question: Identifier
    value: Annotated[str, Strict()] | Annotated[int, Strict()]


class AnyOf(BaseModel):
    """A choice question's answer includes at least one of these options."""

    model_config = _FROZEN
    kind: Literal["any_of"] = "any_of"
    question: Identifier
    options: Annotated[tuple[OptionId, ...], Field(min_length=1, max_length=50)]


class Answered(BaseModel):
    model_config = _FROZEN
    kind: Literal["answered"] = "answered"
    question: Identifier


class AllTrue(BaseModel):
    model_config = _FROZEN
    kind: Literal["all"] = "all"
    conditions: Annotated[tuple["Condition", ...], Field(min_length=1, max_length=20)]


class AnyTrue(BaseModel):
    model_config = _FROZEN
    kind: Literal["any"] = "any"
    conditions: Annotated[tuple["Condition", ...], Field(min_length=1, max_length=20)]


Condition = Annotated[Equals | AnyOf | Answered | AllTrue | AnyTrue, Field(discriminator="kind")]
AllTrue.model_rebuild()
AnyTrue.model_rebuild()


class _Question(BaseModel):
    model_config = _FROZEN
    id: Identifier
    prompt: Text
    required: bool = False
    show_if: Condition | None = None


class SingleChoice(_Question):
    type: Literal["single_choice"] = "single_choice"
    options: Options
    other: Text | None = Field(default=None, description='the label of "other, please specify"')


class MultipleChoice(_Question):
    type: Literal["multiple_choice"] = "multiple_choice"
    options: Options
    other: Text | None = Field(default=None, description='the label of "other, please specify"')
    min: int = Field(default=1, ge=1, description="fewest choices in an answer")
    max: int | None = Field(default=None, ge=1, description="most choices in an answer; None: all")

    @model_validator(mode="after")
    def _bounds_possible(self) -> Self:
        choices = len(self.options) + (self.other is not None)
        most = choices if self.max is None else self.max
        if not self.min <= most <= choices:
            raise PydanticCustomError(
                "survey_question", f"needs min <= max <= {choices} (the options, and other if offered)"
            )
        return self


class Likert(_Question):
    type: Literal["likert"] = "likert"
    points: Literal[5, 7]
    labels: tuple[Text, ...] = Field(max_length=7, description="one per point, from the first to the last")

    @model_validator(mode="after")
    def _one_label_per_point(self) -> Self:
        if len(self.labels) != self.points:
            raise PydanticCustomError("survey_question", f"needs {self.points} labels, one per point")
        return self


class Rating(_Question):
    """0 to 10."""

    type: Literal["rating"] = "rating"


class Ranking(_Question):
    """An answer orders every option."""

    type: Literal["ranking"] = "ranking"
    options: Annotated[tuple[Option, ...], Field(min_length=2, max_length=20)]


class Number(_Question):
    type: Literal["number"] = "number"
    min: float | None = None
    max: float | None = None
    unit: Text | None = None

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PydanticCustomError("survey_question", "min is above max")
        return self


class ShortText(_Question):
    type: Literal["short_text"] = "short_text"
    max_length: int = Field(default=SHORT_TEXT_MAX, ge=1, le=SHORT_TEXT_MAX)


class LongText(_Question):
    type: Literal["long_text"] = "long_text"
    max_length: int = Field(default=2000, ge=1, le=LONG_TEXT_MAX)


class DateQuestion(_Question):
    type: Literal["date"] = "date"
    earliest: date | None = None
    latest: date | None = None

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Self:
        if self.earliest is not None and self.latest is not None and self.earliest > self.latest:
            raise PydanticCustomError("survey_question", "earliest is after latest")
        return self


Question = Annotated[
    SingleChoice | MultipleChoice | Likert | Rating | Ranking | Number | ShortText | LongText | DateQuestion,
    Field(discriminator="type"),
]


class Section(BaseModel):
    """One page of the survey."""

    model_config = _FROZEN
    title: Text
    description: Text | None = None
    questions: Annotated[tuple[Question, ...], Field(min_length=1, max_length=200)]


class SurveyDocument(BaseModel):
    model_config = _FROZEN
    main_language: LanguageCode
    languages: Annotated[tuple[LanguageCode, ...], Field(min_length=1, max_length=MAX_LANGUAGES)]
    title: Text
    description: Text | None = None
    sections: Annotated[tuple[Section, ...], Field(min_length=1, max_length=50)]

    @model_validator(mode="wrap")
    @classmethod
    def _consistent(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Self:
        # A wrap validator, so that the errors raised here keep their own locations.
        document: Self = handler(data)
        problems = list(_document_problems(document))
        if problems:
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("survey_document", message), loc=loc, input=None
                    )
                    for loc, message in problems
                ],
            )
        return document

    def questions(self) -> Iterator[tuple[Loc, Question]]:
        """Every question in order, with its path."""
        for s, section in enumerate(self.sections):
            for q, question in enumerate(section.questions):
                yield ("sections", s, "questions", q), question


def parse_document(raw: object) -> SurveyDocument:
    """The document in ``raw`` (parsed JSON); ValidationError, located per problem, if invalid."""
    return SurveyDocument.model_validate(raw)


_UNION_TAGS = frozenset(
    member.model_fields[tag].default
    for union, tag in ((Question, "type"), (Condition, "kind"))
    for member in get_args(get_args(union)[0])
)


def field_path(loc: Loc) -> str:
    """``loc`` as a dotted path of the document's fields: without the union tags pydantic puts
    after a question or a condition (``questions.2.likert.labels`` -> ``questions.2.labels``),
    so that every problem with one field has the same path."""
    return ".".join(str(part) for i, part in enumerate(loc) if not (part in _UNION_TAGS and _tagged(loc[:i])))


def _tagged(loc: Loc) -> bool:
    """Whether pydantic puts a union's tag after ``loc``: a question's or a condition's path."""
    return loc[-1:] == ("show_if",) or (len(loc) >= 2 and loc[-2] in ("questions", "conditions"))


def document_errors(raw: object) -> list[tuple[str, str]]:
    """Each problem with the document in ``raw`` as (field path, message); empty when valid."""
    try:
        parse_document(raw)
    except ValidationError as invalid:
        return [(field_path(error["loc"]), error["msg"]) for error in invalid.errors() if not _echo(error)]
    return []


def _echo(error: ErrorDetails) -> bool:
    """Whether ``error`` only repeats others: pydantic says a tuple is too short when items in it
    were refused, though it had enough of them."""
    if error["type"] != "too_short" or not isinstance(error["input"], Sequence):
        return False
    return len(error["input"]) >= error.get("ctx", {}).get("min_length", 0)


def _document_problems(document: SurveyDocument) -> Iterator[tuple[Loc, str]]:
    main, languages = document.main_language, document.languages
    if len(set(languages)) != len(languages):
        yield ("languages",), "names a language twice"
    if main not in languages:
        yield ("languages",), f"must include the main language {main}"
    # A survey whose languages leave out the main one is told so once, not at every text.
    written_in = {main, *languages}
    for loc, text in _texts(document, ()):
        if main not in text.root:
            yield loc, f"needs the main language {main}"
        for language in text.root:
            if language not in written_in:
                yield (*loc, language), "is not one of the survey's languages"
    later = {question.id for _, question in document.questions()}
    earlier: dict[str, Question] = {}
    for loc, question in document.questions():
        if question.id in earlier:
            yield (*loc, "id"), f"{question.id} is the id of an earlier question"
        if isinstance(question, SingleChoice | MultipleChoice | Ranking):
            seen: set[str] = set()
            for o, option in enumerate(question.options):
                if option.id in seen:
                    yield (*loc, "options", o, "id"), f"{option.id} is the id of an earlier option"
                seen.add(option.id)
        if question.show_if is not None:
            yield from _condition_problems(
                question.show_if, (*loc, "show_if"), 1, question.id, earlier, later
            )
        earlier.setdefault(question.id, question)


def _texts(node: object, loc: Loc) -> Iterator[tuple[Loc, Text]]:
    if isinstance(node, Text):
        yield loc, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _texts(getattr(node, name), (*loc, name))
    elif isinstance(node, tuple):
        for i, item in enumerate(node):
            yield from _texts(item, (*loc, i))


def _condition_problems(
    condition: Condition, loc: Loc, depth: int, own_id: str, earlier: Mapping[str, Question], later: set[str]
) -> Iterator[tuple[Loc, str]]:
    if depth > MAX_CONDITION_DEPTH:
        yield loc, f"conditions nest at most {MAX_CONDITION_DEPTH} deep"
        return
    if isinstance(condition, AllTrue | AnyTrue):
        for c, inner in enumerate(condition.conditions):
            yield from _condition_problems(inner, (*loc, "conditions", c), depth + 1, own_id, earlier, later)
        return
    question = earlier.get(condition.question)
    if question is None:
        if condition.question == own_id:
            message = "a question cannot depend on its own answer"
        elif condition.question in later:
            message = f"{condition.question} comes later: a condition may use earlier answers only"
        else:
            message = f"no question {condition.question} in this survey"
        yield (*loc, "question"), message
    elif isinstance(condition, AnyOf):
        if not isinstance(question, SingleChoice | MultipleChoice):
            yield (*loc, "question"), "any_of needs a single or multiple choice question"
            return
        ids = {option.id for option in question.options}
        for o, option_id in enumerate(condition.options):
            if option_id not in ids:
                yield (*loc, "options", o), f"{question.id} has no option {option_id}"
    elif isinstance(condition, Equals):
        problem = _equals_problem(question, condition.value)
        if problem:
            yield (*loc, "value"), problem


def _equals_problem(question: Question, value: str | int) -> str | None:
    if isinstance(question, SingleChoice | MultipleChoice):
        if not isinstance(value, str) or value not in {option.id for option in question.options}:
            return f"{question.id} has no option {value}"
        return None
    low: float | None
    high: float | None
    if isinstance(question, Likert):
        low, high = 1, question.points
    elif isinstance(question, Rating):
        low, high = 0, RATING_MAX
    elif isinstance(question, Number):
        low, high = question.min, question.max
    else:
        return "equals needs a choice, likert, rating or number question"
    if not isinstance(value, int) or not _within(value, low, high):
        return f"needs a whole number that {question.id} can be answered with"
    return None


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


# Answers


def _chosen(answer: object) -> set[str]:
    """The option ids a choice answer names; none for anything else (even malformed)."""
    if not isinstance(answer, Mapping):
        return set()
    if isinstance(answer.get("choice"), str):
        return {answer["choice"]}
    choices = answer.get("choices")
    if isinstance(choices, list):
        return {choice for choice in choices if isinstance(choice, str)}
    return set()


def _holds(condition: Condition, answers: Mapping[str, object]) -> bool:
    if isinstance(condition, AllTrue):
        return all(_holds(inner, answers) for inner in condition.conditions)
    if isinstance(condition, AnyTrue):
        return any(_holds(inner, answers) for inner in condition.conditions)
    answer = answers.get(condition.question)
    if isinstance(condition, Answered):
        return answer is not None
    if isinstance(condition, AnyOf):
        return not _chosen(answer).isdisjoint(condition.options)
    if isinstance(condition.value, str):
        return condition.value in _chosen(answer)
    return _is_number(answer) and answer == condition.value


def visible_questions(document: SurveyDocument, answers: Mapping[str, object]) -> list[Question]:
    """The questions shown to a respondent who gave ``answers``, in order. A hidden question's
    answer counts as none, so a question depending on it is hidden too when that needs an answer."""
    shown: list[Question] = []
    counted: dict[str, object] = {}
    for _, question in document.questions():
        if question.show_if is None or _holds(question.show_if, counted):
            shown.append(question)
            counted[question.id] = answers.get(question.id)
    return shown


def check_answers(document: SurveyDocument, answers: Mapping[str, object]) -> dict[str, str]:
    """What is wrong with a respondent's ``answers`` ({path: message}); empty when nothing is."""
    problems: dict[str, str] = {}
    visible = {question.id for question in visible_questions(document, answers)}
    known = set()
    for _, question in document.questions():
        known.add(question.id)
        answer = answers.get(question.id)
        if answer is None:
            if question.required and question.id in visible:
                problems[question.id] = "needs an answer"
        elif question.id not in visible:
            problems[question.id] = "is hidden by its condition: it must not be answered"
        else:
            problems.update(
                (f"{question.id}{suffix}", message) for suffix, message in _answer_problems(question, answer)
            )
    problems.update((key, "no such question in this survey") for key in answers if key not in known)
    return problems


def _answer_problems(question: Question, answer: object) -> Iterator[tuple[str, str]]:
    """(path suffix, message) for each thing wrong with the answer given to ``question``."""
    if isinstance(question, SingleChoice | MultipleChoice):
        yield from _choice_problems(question, answer)
    elif isinstance(question, Likert | Rating | Number):
        if not _is_number(answer):
            yield "", "needs a number"
        elif isinstance(question, Number):
            if not _within(answer, question.min, question.max):
                yield "", f"needs a number between {question.min} and {question.max}"
        elif not isinstance(answer, int) or not _within(answer, *_scale(question)):
            yield "", "needs a whole number between {} and {}".format(*_scale(question))
    elif isinstance(question, Ranking):
        ids = [option.id for option in question.options]
        if (
            not isinstance(answer, list)
            or not all(isinstance(i, str) for i in answer)
            or sorted(answer) != sorted(ids)
        ):
            yield "", "needs every option once, in the order preferred"
    elif isinstance(question, ShortText | LongText):
        if not isinstance(answer, str) or not answer.strip():
            yield "", "needs a text (send no answer rather than an empty one)"
        elif len(answer) > question.max_length:
            yield "", f"is longer than {question.max_length} characters"
    else:
        yield from _date_problems(question, answer)


def _scale(question: Likert | Rating) -> tuple[int, int]:
    return (1, question.points) if isinstance(question, Likert) else (0, RATING_MAX)


def _is_number(answer: object) -> TypeGuard[float]:
    # JSON has no NaN or infinity, and true is not 1 in an answer.
    return isinstance(answer, int | float) and not isinstance(answer, bool) and math.isfinite(answer)


def _choice_problems(question: SingleChoice | MultipleChoice, answer: object) -> Iterator[tuple[str, str]]:
    key = "choice" if isinstance(question, SingleChoice) else "choices"
    if not isinstance(answer, Mapping) or not set(answer) <= {key, "other"}:
        yield "", f"needs an object with {key} and, for 'other', other"
        return
    other = answer.get("other")
    if other is not None:
        if question.other is None:
            yield ".other", "this question offers no 'other' choice"
        elif not isinstance(other, str) or not other.strip() or len(other) > OTHER_TEXT_MAX:
            yield ".other", f"needs a text of at most {OTHER_TEXT_MAX} characters"
    ids = {option.id for option in question.options}
    if isinstance(question, SingleChoice):
        choice = answer.get("choice")
        if (choice is None) == (other is None):
            yield "", "needs one choice, or the 'other' text"
        elif choice is not None and (not isinstance(choice, str) or choice not in ids):
            yield "", f"there is no option {choice}"
        return
    choices = answer.get("choices", [])
    if not isinstance(choices, list) or not all(isinstance(choice, str) for choice in choices):
        yield "", "needs choices as a list of option ids"
        return
    if len(set(choices)) != len(choices):
        yield "", "names an option twice"
    unknown = [choice for choice in choices if choice not in ids]
    if unknown:
        yield "", f"there is no option {unknown[0]}"
    count = len(choices) + (other is not None)
    most = question.max if question.max is not None else count
    if not question.min <= count <= most:
        yield "", f"needs between {question.min} and {most} choices"


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_problems(question: DateQuestion, answer: object) -> Iterator[tuple[str, str]]:
    # fromisoformat alone would also take 20240131 and other ISO forms: one form is kept.
    if not isinstance(answer, str) or not _ISO_DATE.match(answer):
        yield "", "needs a date as YYYY-MM-DD"
        return
    try:
        day = date.fromisoformat(answer)
    except ValueError:
        yield "", "is not a date"
        return
    if question.earliest is not None and day < question.earliest:
        yield "", f"is before {question.earliest.isoformat()}"
    if question.latest is not None and day > question.latest:
        yield "", f"is after {question.latest.isoformat()}"


# The standard demographics section


_SPANISH_KINDS = {
    "hispanic_latino": "Hispano o latino (de cualquier raza)",
    "white": "Blanco, no hispano",
    "black": "Negro o afroamericano, no hispano",
    "asian": "Asiático, no hispano",
    "american_indian_alaska_native": "Indígena americano o nativo de Alaska, no hispano",
    "native_hawaiian_pacific_islander": "Nativo de Hawái o de otras islas del Pacífico, no hispano",
    "another_race": "Otra raza, no hispano",
    "two_or_more": "Dos o más razas, no hispano",
    "owner": "Propietario",
    "renter": "Inquilino",
    "english_only": "Solo inglés",
    "spanish": "Español",
    "other_indo_european": "Otras lenguas indoeuropeas",
    "asian_pacific_island": "Lenguas asiáticas y de las islas del Pacífico",
    "other": "Otras lenguas",
}
_SPANISH_UNITS = {Dimension.AGE: "años", Dimension.HOUSEHOLD_INCOME: "dólares"}

_PROMPTS = {
    Dimension.AGE: ("How old are you?", "¿Qué edad tiene?"),
    Dimension.RACE_ETHNICITY: (
        "What is your race or ethnicity? Choose all that apply.",
        "¿Cuál es su raza u origen étnico? Elija todas las que correspondan.",
    ),
    Dimension.HOUSEHOLD_INCOME: (
        "What is your household's income in a year?",
        "¿Cuál es el ingreso anual de su hogar?",
    ),
    Dimension.TENURE: ("Do you own or rent your home?", "¿Su vivienda es propia o alquilada?"),
    Dimension.LANGUAGE_AT_HOME: (
        "What language do you speak most at home?",
        "¿Qué idioma habla más en casa?",
    ),
}
POSTAL_CODE = "postal_code"


def _spanish_label(dimension: Dimension, band: Band) -> str:
    if band.low is None:
        return _SPANISH_KINDS[band.code]
    unit = _SPANISH_UNITS[dimension]
    if band.high is None:
        return f"{band.low:,} {unit} o más"
    if band.low == 0:
        return f"Menos de {band.high:,} {unit}"
    return f"{band.low:,}-{band.high - 1:,} {unit}"


def demographics_section(languages: Sequence[str]) -> Section:
    """The standard "about you" page, every question optional, in those of ``languages`` it is
    translated into (English and Spanish). Its question ids are the baselines' dimensions (and
    ``postal_code``), its option ids their band codes, so answers compare with the baselines."""
    chosen = [language for language in ("en", "es") if language in languages]
    if not chosen:
        raise ValueError("the demographics section is written in English and Spanish only")

    def text(english: str, spanish: str) -> Text:
        return Text({language: english if language == "en" else spanish for language in chosen})

    questions: list[Question] = []
    for dimension, (english, spanish) in _PROMPTS.items():
        options = tuple(
            Option(
                id=band.code,
                label=text(band.label[0].upper() + band.label[1:], _spanish_label(dimension, band)),
            )
            for band in CATALOGUE[dimension].bands
        )
        prompt = text(english, spanish)
        if dimension is Dimension.RACE_ETHNICITY:
            questions.append(MultipleChoice(id=dimension.value, prompt=prompt, options=options))
        else:
            questions.append(SingleChoice(id=dimension.value, prompt=prompt, options=options))
    questions.append(
        ShortText(
            id=POSTAL_CODE,
            prompt=text("What is your ZIP code?", "¿Cuál es su código postal?"),
            max_length=10,
        )
    )
    return Section(
        title=text("About you", "Sobre usted"),
        description=text(
            "These questions are optional. They show whether the people who answered are like "
            "the people who live here.",
            "Estas preguntas son opcionales. Muestran si quienes respondieron se parecen a "
            "quienes viven aquí.",
        ),
        questions=tuple(questions),
    )


def as_json(node: object) -> Any:
    """A document, or a part of one (a section, a question), as the JSON an organizer would
    write: fields left at their default are left out, except the tags (``type``, ``kind``) a
    question or a condition is read by. (pydantic's ``exclude_defaults`` drops the tags too.)"""
    if isinstance(node, RootModel):
        return as_json(node.root)
    if isinstance(node, BaseModel):
        return {
            name: as_json(getattr(node, name))
            for name, field in type(node).model_fields.items()
            if name in ("type", "kind") or getattr(node, name) != field.default
        }
    if isinstance(node, tuple | list):
        return [as_json(item) for item in node]
    if isinstance(node, dict):
        return {key: as_json(value) for key, value in node.items()}
    if isinstance(node, date):
        return node.isoformat()
    return node
