"""Grade one answer, or one student's submission, against a bank.

Every result says in words what was right and what was not ("Correct.", "Not quite: ...",
"3/4 concepts; missed: ..."), so that feedback never relies on colour. Numeric answers are
compared with the item's tolerance to the key computed for the student's variant; a wrong
number that equals a known mistake's (computed) value gets that mistake's feedback.

:func:`grade_answer` grades an item as given (authored letters, self-study).
:func:`grade_as_seen` grades what one student saw: a choice item is first put in that student's
option order (:func:`simlib.quiz.order.presented`, keyed by the course secret), so the letters
are read, and the feedback speaks, in that student's letters; ``details`` adds the authored
letters (``authored_answer``, ``authored_chosen``) for item analysis across students.
:func:`grade_submission` grades every item that way.

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> item = load_bank("basics").item("basics-goal")
    >>> grade_answer(item, "B").correct
    True
    >>> from simlib.quiz.order import presented
    >>> mine = presented(item, student="ada", course="secret").answer
    >>> grade_as_seen(item, mine, student="ada", course="secret").details["authored_chosen"]
    'B'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from simlib.quiz.concepts import grade_concepts
from simlib.quiz.order import option_order, reorder, to_authored
from simlib.quiz.schema import (
    LETTERS,
    Bank,
    ConceptItem,
    MultipleChoice,
    NumericItem,
    SingleChoice,
    Tolerance,
)
from simlib.quiz.variants import DEFAULT_COURSE, format_number, make_variant, mistake_value

__all__ = [
    "ItemResult",
    "SubmissionResult",
    "grade_answer",
    "grade_as_seen",
    "grade_submission",
    "within",
]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class ItemResult:
    """The grade of one answer: points earned of ``points``, and feedback in words."""

    item_id: str
    score: float
    points: float
    correct: bool
    feedback: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmissionResult:
    """One student's graded submission."""

    student: str
    attempt: int
    items: tuple[ItemResult, ...]
    unknown_items: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return sum(r.score for r in self.items)

    @property
    def max_score(self) -> float:
        return sum(r.points for r in self.items)


def within(answer: float, key: float, tolerance: Tolerance) -> bool:
    """True when ``answer`` is within ``tolerance.margin(key)`` of ``key`` (a hair of slack for
    float rounding in the relative and significant-figure forms)."""
    error = abs(answer - key)
    margin = tolerance.margin(key)
    if tolerance.relative is not None:
        return error <= margin + 1e-300
    if tolerance.absolute is not None:
        return error <= margin
    if key == 0:
        return answer == 0
    return error <= margin * (1 + 1e-9)


def _no_answer(item, why: str) -> ItemResult:
    return ItemResult(item.id, 0.0, item.points, False, why)


def _letters(answer: Any) -> list[str] | None:
    """Option letters from "B", "a, c", "AC" or ["A", "C"]; None when it is not letters."""
    if isinstance(answer, str):
        raw = [ch for ch in answer.upper() if not ch.isspace() and ch not in ",;/"]
    elif isinstance(answer, list | tuple) and all(isinstance(a, str) for a in answer):
        raw = [a.strip().upper() for a in answer]
    else:
        return None
    return raw if all(len(a) == 1 and a.isalpha() for a in raw) else None


def _grade_single(item: SingleChoice, answer: Any) -> ItemResult:
    picked = _letters(answer)
    valid = LETTERS[: len(item.options)]
    if not picked or len(picked) != 1 or picked[0] not in valid:
        return _no_answer(
            item, f"No answer read: answer with one letter, {valid[0]} to {valid[-1]}."
        )
    letter = picked[0]
    correct = letter == item.answer
    said = item.feedback.get(letter, "")
    if correct:
        text = f"Correct: {letter}. {said or item.explanation}".strip()
    else:
        why = said or item.explanation
        text = f"Not quite: you chose {letter}; the answer is {item.answer}. {why}"
    details = {"answer": item.answer, "chosen": letter}
    return ItemResult(item.id, item.points * correct, item.points, correct, text.strip(), details)


def _grade_multiple(item: MultipleChoice, answer: Any) -> ItemResult:
    picked = _letters(answer)
    valid = LETTERS[: len(item.options)]
    if picked is None or not picked or any(p not in valid for p in picked):
        return _no_answer(
            item, f"No answer read: answer with letters from {valid[0]} to {valid[-1]}."
        )
    chosen, key = set(picked), set(item.answer)
    right, wrong = chosen & key, chosen - key
    fraction = max(0.0, (len(right) - len(wrong)) / len(key))
    correct = chosen == key
    expected = ", ".join(sorted(key))
    if correct:
        text = f"Correct: {expected}. {item.explanation}"
    else:
        missed = ", ".join(sorted(key - chosen)) or "none"
        extra = ", ".join(sorted(wrong)) or "none"
        notes = " ".join(
            item.feedback[x] for x in sorted(wrong | (key - chosen)) if x in item.feedback
        )
        verdict = "Partly right" if fraction > 0 else "Not quite"
        text = (
            f"{verdict}: the answer is {expected}; missed {missed}; wrongly chosen {extra}. {notes}"
        )
    details = {"answer": sorted(key), "chosen": sorted(chosen)}
    return ItemResult(item.id, item.points * fraction, item.points, correct, text.strip(), details)


MAX_NUMBER_CHARS = 64


def _number(answer: Any) -> float | None:
    """The answer as a finite float, or None; never raises (a 310-digit int is None, not an
    OverflowError; text longer than ``MAX_NUMBER_CHARS`` is not read as a number)."""
    if isinstance(answer, bool):
        return None
    try:
        if isinstance(answer, int | float):
            value = float(answer)
        elif isinstance(answer, str) and len(answer) <= MAX_NUMBER_CHARS:
            text = answer.strip().replace("_", "")
            if not _NUMBER.match(text):
                return None
            value = float(text)
        else:
            return None
    except (OverflowError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _quoted(answer: Any) -> str:
    """At most 40 characters of what was answered, quoted (``str`` of a huge int can raise)."""
    if isinstance(answer, int) and not isinstance(answer, bool) and abs(answer) >= 10**40:
        return "a whole number of over 40 digits"
    return repr(str(answer)[:40])


def _grade_numeric(
    item: NumericItem, answer: Any, student: str, course: str, attempt: int
) -> ItemResult:
    variant = make_variant(item, student, course=course, attempt=attempt)
    value = _number(answer)
    unit = f" {item.unit}" if item.unit else ""
    expected = f"{format_number(variant.key)}{unit}"
    details = {"answer": variant.key, "params": variant.params}
    if value is None:
        return ItemResult(
            item.id,
            0.0,
            item.points,
            False,
            f"No number read from {_quoted(answer)}; "
            f"write digits such as 12.5 or 1.2e3. The answer is {expected}.",
            details,
        )
    if within(value, variant.key, item.tolerance):
        text = f"Correct: {expected}. {item.explanation}".strip()
        return ItemResult(item.id, item.points, item.points, True, text, details)
    text = f"Not quite: you gave {format_number(value)}{unit}; the answer is {expected}."
    matched = _matching_mistakes(item, variant, value)
    if matched:
        text += " " + " Or: ".join(item.mistakes[i].feedback for i in matched)
        details = {**details, "mistakes": matched}
    elif item.explanation:
        text += f" {item.explanation}"
    return ItemResult(item.id, 0.0, item.points, False, text.strip(), details)


def _matching_mistakes(item: NumericItem, variant, value: float) -> list[int]:
    """Indices of the known mistakes whose computed value matches ``value`` (not the key)."""
    matched = []
    for index, mistake in enumerate(item.mistakes):
        wrong = mistake_value(item, variant, mistake)
        if math.isfinite(wrong) and not within(wrong, variant.key, item.tolerance):
            if within(value, wrong, item.tolerance):
                matched.append(index)
    return matched


def _grade_concepts(item: ConceptItem, answer: Any) -> ItemResult:
    if not isinstance(answer, str) or not answer.strip():
        return _no_answer(item, "No answer read: write a few sentences.")
    result = grade_concepts(item, answer)
    names = {c.id: c for c in item.concepts}
    parts = [f"{result.summary}."]
    if result.missed:
        parts.append("Missed: " + "; ".join(names[m].name for m in result.missed) + ".")
        parts += [names[m].feedback for m in result.missed if names[m].feedback]
    else:
        parts.append("All concepts found.")
    wrong = {m.id: m for m in item.misconceptions}
    parts += [f"Careful: {wrong[m].feedback}" for m in result.misconceptions if wrong[m].feedback]
    details = {
        "found": list(result.found),
        "missed": list(result.missed),
        "misconceptions": list(result.misconceptions),
    }
    correct = not result.missed
    score = item.points * result.fraction
    return ItemResult(item.id, score, item.points, correct, " ".join(parts), details)


def grade_answer(
    item, answer: Any, *, student: str = "guest", course: str = DEFAULT_COURSE, attempt: int = 0
) -> ItemResult:
    """Grade one answer to one item (numeric items use the student's variant)."""
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        return _no_answer(item, "No answer given.")
    if isinstance(item, SingleChoice):
        return _grade_single(item, answer)
    if isinstance(item, MultipleChoice):
        return _grade_multiple(item, answer)
    if isinstance(item, NumericItem):
        return _grade_numeric(item, answer, student, course, attempt)
    return _grade_concepts(item, answer)


def _authored(letters, order) -> str | list[str]:
    if isinstance(letters, str):
        return to_authored(letters, order)
    return sorted(to_authored(x, order) for x in letters)


def grade_as_seen(
    item,
    answer: Any,
    *,
    student: str | None,
    course: str = DEFAULT_COURSE,
    attempt: int = 0,
) -> ItemResult:
    """Grade ``answer`` to ``item`` as ``student`` saw it (their option order under the course
    secret ``course``); ``student=None`` is self-study, the authored order."""
    who = "guest" if student is None else student
    if student is None or not isinstance(item, SingleChoice | MultipleChoice):
        return grade_answer(item, answer, student=who, course=course, attempt=attempt)
    order = option_order(
        item.id, len(item.options), student=student, course=course, attempt=attempt
    )
    result = grade_answer(reorder(item, order), answer, student=who, course=course, attempt=attempt)
    extra = {"order": list(order)}
    if "answer" in result.details:
        extra["authored_answer"] = _authored(result.details["answer"], order)
        extra["authored_chosen"] = _authored(result.details["chosen"], order)
    return ItemResult(
        result.item_id,
        result.score,
        result.points,
        result.correct,
        result.feedback,
        {**result.details, **extra},
    )


def grade_submission(
    bank: Bank,
    student: str,
    answers: Mapping[str, Any],
    *,
    course: str = DEFAULT_COURSE,
    attempt: int = 0,
    items: tuple[str, ...] | None = None,
) -> SubmissionResult:
    """Grade every item of ``bank`` (or only ``items``) from a student's answers by item id.

    Choice answers are letters as this student saw them (their paper's order under the course
    secret ``course``); see :func:`grade_as_seen`.
    """
    chosen = bank.items if items is None else tuple(bank.item(i) for i in items)
    results = tuple(
        grade_as_seen(item, answers.get(item.id), student=student, course=course, attempt=attempt)
        for item in chosen
    )
    known = {item.id for item in chosen}
    unknown = tuple(sorted(k for k in answers if k not in known))
    return SubmissionResult(student, attempt, results, unknown)
