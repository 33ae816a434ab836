"""The schema of question banks and flashcard decks (pydantic models, validated on load).

A bank (``quizzes/<topic>.yaml``) holds items of four types:

- ``single``: one correct option, answered with its letter (``B``);
- ``multiple``: several correct options, answered with letters (``["A", "C"]`` or ``"AC"``);
- ``numeric``: names a registered simlib function (:mod:`simlib.quiz.functions`) and parameter
  ranges; every student gets a seeded variant and the key is computed, never typed;
- ``concepts``: free text graded by the statements it makes: concepts written as relation
  frames (subject, relation, object) and misconceptions (see :mod:`simlib.quiz.concepts`).

Every item may say where the course teaches what it asks: ``taught_in: "04"`` (notebook 04) or
``taught_in: "04#ssp"`` (the section of notebook 04 whose heading contains ``ssp``, headings
written as lower-case words joined by ``-``). The shipped banks give it on every item, and a
notebook's quiz asks only what that notebook or an earlier one taught
(``tests/test_quiz_taught.py``).

A deck (``quizzes/cards_<name>.yaml``) holds flashcards (front, back). Every model forbids
unknown fields, so a misspelt field is an error that names it rather than a silent default.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simlib.quiz.errors import UnknownItemError
from simlib.quiz.functions import FUNCTIONS, TRANSFORMS

__all__ = [
    "LETTERS",
    "ArgRef",
    "Bank",
    "Card",
    "Concept",
    "ConceptItem",
    "Deck",
    "Frame",
    "Item",
    "Misconception",
    "Mistake",
    "MultipleChoice",
    "NumericItem",
    "ParamRange",
    "SingleChoice",
    "Tolerance",
    "placeholders",
]

LETTERS = "ABCDEFGH"
MAX_RANGE_VALUES = 100_000
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
TaughtIn = Annotated[str, Field(pattern=r"^\d\d(#[a-z0-9][a-z0-9-]{0,63})?$")]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Note = Annotated[str, Field(max_length=4000)]
Phrase = Annotated[str, Field(min_length=1, max_length=300)]
Number = Annotated[float, Field(allow_inf_nan=False)]
Scalar = bool | int | Number | Annotated[str, Field(max_length=100)]


_NUMERIC_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def _numbers_from_text(values: Any) -> Any:
    """YAML 1.1 reads ``1.0e10`` (no sign in the exponent) as text: read it as the number."""
    if not isinstance(values, dict):
        return values
    return {
        k: float(v) if isinstance(v, str) and _NUMERIC_TEXT.match(v) else v
        for k, v in values.items()
    }


def placeholders(template: str) -> list[str]:
    """The ``{name}`` placeholders of a prompt, in order."""
    return _PLACEHOLDER.findall(template)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _ItemBase(_Model):
    id: Slug
    prompt: Text
    points: float = Field(1.0, gt=0, le=100)
    tags: tuple[Slug, ...] = ()
    hint: Note = ""
    explanation: Note = ""
    taught_in: TaughtIn | None = None

    @property
    def taught_notebook(self) -> str | None:
        """The notebook number of ``taught_in`` (``"04#ssp"`` -> ``"04"``), or None."""
        return self.taught_in.split("#", 1)[0] if self.taught_in else None


def _letter_index(letter: str, options: tuple[str, ...]) -> int:
    index = LETTERS.find(letter) if len(letter) == 1 else -1
    if index < 0 or index >= len(options):
        raise ValueError(
            f"{letter!r} is not an option letter; use one of {LETTERS[: len(options)]}"
        )
    return index


class SingleChoice(_ItemBase):
    """One correct option, answered with its letter."""

    type: Literal["single"]
    options: tuple[Text, ...] = Field(min_length=2, max_length=len(LETTERS))
    answer: str
    feedback: dict[str, Note] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_letters(self) -> SingleChoice:
        _letter_index(self.answer, self.options)
        for letter in self.feedback:
            _letter_index(letter, self.options)
        return self


class MultipleChoice(_ItemBase):
    """Several correct options; partial credit for each right pick less each wrong one."""

    type: Literal["multiple"]
    options: tuple[Text, ...] = Field(min_length=2, max_length=len(LETTERS))
    answer: tuple[str, ...] = Field(min_length=1, max_length=len(LETTERS))
    feedback: dict[str, Note] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_letters(self) -> MultipleChoice:
        for letter in (*self.answer, *self.feedback):
            _letter_index(letter, self.options)
        if len(set(self.answer)) != len(self.answer):
            raise ValueError(f"answer lists a letter twice: {list(self.answer)}")
        return self


class ParamRange(_Model):
    """The values a parameter may take: a list, or ``min`` to ``max`` in steps of ``step``."""

    values: tuple[Number, ...] | None = Field(None, min_length=1, max_length=1000)
    min: Number | None = None
    max: Number | None = None
    step: Number | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_form(self) -> ParamRange:
        bounds = (self.min, self.max, self.step)
        if self.values is not None:
            if any(b is not None for b in bounds):
                raise ValueError("give either values or min/max/step, not both")
        elif any(b is None for b in bounds):
            raise ValueError("give values: [..] or all of min, max and step")
        elif self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}; swap them")
        elif (self.max - self.min) / self.step >= MAX_RANGE_VALUES:
            raise ValueError(f"the range has over {MAX_RANGE_VALUES} values; use a larger step")
        return self

    @property
    def integer(self) -> bool:
        numbers = self.values if self.values is not None else (self.min, self.step)
        return all(float(v).is_integer() for v in numbers)


class ArgRef(_Model):
    """A function argument taken from a parameter, times ``scale`` (display unit -> SI)."""

    param: Name
    scale: Number = 1.0


class Tolerance(_Model):
    """How close a numeric answer must be: one of relative, absolute or significant figures."""

    relative: float | None = Field(None, gt=0, lt=1)
    absolute: float | None = Field(None, ge=0, allow_inf_nan=False)
    sigfigs: int | None = Field(None, ge=1, le=12)

    @model_validator(mode="after")
    def _exactly_one(self) -> Tolerance:
        given = [v for v in (self.relative, self.absolute, self.sigfigs) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of relative, absolute or sigfigs")
        return self

    def margin(self, key: float) -> float:
        """The largest ``|answer - key|`` accepted: ``relative * |key|``, ``absolute``, or half a
        unit in the last significant figure (0 for a key of 0).

        >>> Tolerance(sigfigs=3).margin(19.25)
        0.05
        """
        if self.relative is not None:
            return self.relative * abs(key)
        if self.absolute is not None:
            return self.absolute
        if key == 0:
            return 0.0
        return 0.5 * 10 ** (math.floor(math.log10(abs(key))) - self.sigfigs + 1)


class Mistake(_Model):
    """A known mistake, computed: other arguments, another field, a factor or a transform."""

    feedback: Text
    transform: str | None = None
    override: dict[Name, Scalar] = Field(default_factory=dict)
    scale_args: dict[Name, Number] = Field(default_factory=dict)
    field: Name | None = None
    answer_factor: Number | None = None

    @field_validator("override", mode="before")
    @classmethod
    def _override_numbers(cls, value: Any) -> Any:
        return _numbers_from_text(value)

    @model_validator(mode="after")
    def _something(self) -> Mistake:
        if self.transform is not None and self.transform not in TRANSFORMS:
            raise ValueError(
                f"transform {self.transform!r} is unknown; use one of {sorted(TRANSFORMS)}"
            )
        if not (self.transform or self.override or self.scale_args or self.field) and (
            self.answer_factor is None
        ):
            raise ValueError(
                "say what the mistake is: transform, override, scale_args, field or answer_factor"
            )
        return self


def _check_numeric_names(item: NumericItem) -> None:
    spec = FUNCTIONS.get(item.function)
    if spec is None:
        raise ValueError(
            f"function {item.function!r} is not registered; use one of {sorted(FUNCTIONS)}"
        )
    fields = spec.fields
    for field in [item.field] + [m.field for m in item.mistakes]:
        if field is not None and field not in fields:
            raise ValueError(f"{item.function} has no field {field!r}; use one of {list(fields)}")
    if item.field is None and fields:
        raise ValueError(
            f"{item.function} returns several fields; add field: one of {list(fields)}"
        )
    names = set(item.args).union(
        *(m.override for m in item.mistakes), *(m.scale_args for m in item.mistakes)
    )
    unknown = sorted(names - set(spec.arguments))
    missing = [a for a in spec.required if a not in item.args]
    if unknown or missing:
        raise ValueError(
            f"{item.function} takes {list(spec.arguments)}: unknown argument(s) {unknown}, "
            f"missing argument(s) {missing}"
        )


class NumericItem(_ItemBase):
    """A number computed by a registered simlib function for each student's variant."""

    type: Literal["numeric"]
    function: str
    field: Name | None = None
    params: dict[Name, ParamRange] = Field(min_length=1, max_length=12)
    args: dict[Name, ArgRef | Scalar]
    answer_scale: Number = 1.0
    unit: Annotated[str, Field(max_length=40)] = ""
    tolerance: Tolerance = Tolerance(relative=0.01)
    mistakes: tuple[Mistake, ...] = Field((), max_length=12)

    @field_validator("args", mode="before")
    @classmethod
    def _arg_numbers(cls, value: Any) -> Any:
        return _numbers_from_text(value)

    @model_validator(mode="after")
    def _check_names(self) -> NumericItem:
        _check_numeric_names(self)
        unknown = [p for p in placeholders(self.prompt) if p not in self.params]
        if unknown:
            raise ValueError(f"prompt uses {unknown} but params define only {list(self.params)}")
        used = {a.param for a in self.args.values() if isinstance(a, ArgRef)}
        bad = sorted(used - set(self.params))
        if bad:
            raise ValueError(f"args refer to undefined param(s) {bad}; define them under params")
        unused = sorted(set(self.params) - used - set(placeholders(self.prompt)))
        if unused:
            raise ValueError(
                f"param(s) {unused} are neither in the prompt nor in args; remove them"
            )
        return self


def _terms_ok(terms: tuple[str, ...], what: str, specials: tuple[str, ...] = ()) -> None:
    from simlib.quiz.concepts import compile_term

    for t in terms:
        if t.strip() not in specials and not compile_term(t):
            raise ValueError(f"{what} term {t!r} has no word to match; write a word or remove it")


class Frame(_Model):
    """One way to state a concept: a subject, a relation and an object that a clause must bind
    in a grammatical order (see :mod:`simlib.quiz.concepts`). Each entry is a term of one or
    more words; ``|`` lists alternatives for one word (``"full|whole copy"``). ``$topic`` in
    ``subject`` stands for the concept's topic; ``*`` accepts any subject. ``also`` lists
    groups of words (``|``-separated), one of each group must occur in the predicate's clause.
    ``negated: true`` states the concept only when negated ("no GPU keeps a full copy")."""

    subject: tuple[Phrase, ...] = Field(min_length=1, max_length=80)
    relation: tuple[Phrase, ...] = Field(min_length=1, max_length=80)
    object: tuple[Phrase, ...] = Field((), max_length=80)
    also: tuple[Phrase, ...] = Field((), max_length=10)
    negated: bool = False

    @model_validator(mode="after")
    def _words(self) -> Frame:
        _terms_ok(self.subject, "subject", ("$topic", "*"))
        _terms_ok(self.relation, "relation")
        _terms_ok(self.object, "object")
        _terms_ok(self.also, "also")
        return self

    def describe(self) -> str:
        """The frame written out: ``subject [..] relation [..] object [..]``."""
        parts = [f"subject [{', '.join(self.subject)}]", f"relation [{', '.join(self.relation)}]"]
        if self.object:
            parts.append(f"object [{', '.join(self.object)}]")
        if self.also:
            parts.append(f"also [{', '.join(self.also)}]")
        return (" ".join(parts)) + (" (negated)" if self.negated else "")


class Concept(_Model):
    """One statement an answer should make, recognised by relation frames about a topic."""

    id: Slug
    name: Text
    topic: tuple[Phrase, ...] = Field((), max_length=40)
    frames: tuple[Frame, ...] = Field(min_length=1, max_length=60)
    feedback: Note = ""

    @model_validator(mode="after")
    def _topic_words(self) -> Concept:
        _terms_ok(self.topic, "topic")
        return self

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The frames written out (what a paper must never show)."""
        return tuple(f.describe() for f in self.frames)


class Misconception(_Model):
    """A wrong statement: when found, its feedback is given and the concepts in ``cancels``
    drop. Found by its own ``frames``, or by ``swap_of``: that concept's frames said of this
    misconception's ``topic`` (a role swap)."""

    id: Slug
    name: Note = ""
    feedback: Note = ""
    topic: tuple[Phrase, ...] = Field((), max_length=40)
    frames: tuple[Frame, ...] = Field((), max_length=60)
    swap_of: Slug | None = None
    cancels: tuple[Slug, ...] = ()

    @model_validator(mode="after")
    def _recognisable(self) -> Misconception:
        _terms_ok(self.topic, "topic")
        if not self.frames and self.swap_of is None:
            raise ValueError(f"misconception {self.id!r} needs frames or swap_of: a concept id")
        if self.swap_of is not None and not self.topic:
            raise ValueError(
                f"misconception {self.id!r} swaps {self.swap_of!r}: give the topic it is "
                "wrongly said of (topic: [...])"
            )
        return self


class ConceptItem(_ItemBase):
    """Free text scored as "N/M concepts", naming the missed ones."""

    type: Literal["concepts"]
    concepts: tuple[Concept, ...] = Field(min_length=1, max_length=8)
    misconceptions: tuple[Misconception, ...] = Field((), max_length=20)
    model_answer: Note = ""

    @model_validator(mode="after")
    def _check_ids(self) -> ConceptItem:
        ids = [c.id for c in self.concepts]
        if len(set(ids)) != len(ids):
            raise ValueError(f"concept ids repeat: {ids}")
        for m in self.misconceptions:
            if m.swap_of is not None and m.swap_of not in ids:
                raise ValueError(
                    f"misconception {m.id!r} swaps unknown concept {m.swap_of!r}; use {ids}"
                )
            bad = [c for c in m.cancels if c not in ids]
            if bad:
                raise ValueError(
                    f"misconception {m.id!r} cancels unknown concept(s) {bad}; use {ids}"
                )
        return self


Item = Annotated[
    SingleChoice | MultipleChoice | NumericItem | ConceptItem, Field(discriminator="type")
]


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{what} id {i!r} appears twice; ids must be unique")
        seen.add(i)


class Bank(_Model):
    """A question bank: one topic, its items, and the notebook it belongs to."""

    kind: Literal["bank"] = "bank"
    topic: Slug
    title: Text
    notebook: Annotated[str, Field(pattern=r"^\d\d$")] | None = None
    items: tuple[Item, ...] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _unique_ids(self) -> Bank:
        _unique([item.id for item in self.items], "item")
        return self

    def item(self, item_id: str) -> Any:
        """The item with id ``item_id``; :class:`UnknownItemError` (a KeyError) if none."""
        for item in self.items:
            if item.id == item_id:
                return item
        ids = ", ".join(i.id for i in self.items)
        raise UnknownItemError(f"bank {self.topic!r} has no item {item_id!r}; its items: {ids}")


class Card(_Model):
    """A flashcard: a question on the front, the answer on the back."""

    id: Slug
    front: Text
    back: Text
    tags: tuple[Slug, ...] = ()


class Deck(_Model):
    """A flashcard deck, reviewed with FSRS spaced repetition."""

    kind: Literal["deck"]
    name: Slug
    title: Text
    cards: tuple[Card, ...] = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _unique_ids(self) -> Deck:
        _unique([card.id for card in self.cards], "card")
        return self
