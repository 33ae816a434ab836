"""Read an answer as a student types it, before it is graded.

Reading and grading are separate: a typed answer that cannot be read (``"Z"`` for a four-option
item, ``"19,25"``, ``"12 GB"`` for a time) is not wrong, it is unreadable, and whoever asked
(the terminal, a widget) asks again without charging for it. What is read is the value the
grader takes: a letter, a list of letters, a number in the item's unit, or text.

- single choice: one letter, in any case, alone or quoted (``b``, ``"B"``, ``["B"]``);
- multiple choice: every list format the prompt shows: ``["A", "C"]``, ``A, C``, ``A C``,
  ``AC``, ``a;c``;
- numeric: a number, optionally with a unit, converted to the item's unit
  (:mod:`simlib.quiz.units`): ``19.25 ms``, ``0.01925 s``, ``2.5 GiB``, ``40%``;
- concepts: any non-empty text.

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> item = load_bank("data_parallelism").item("dp-ring-allreduce-ms")
    >>> read_answer(item, "0.01925 s").value
    19.25
    >>> read_answer(item, "12 GB").problem
    'GB is a data unit, but the answer is a time in ms; write it in ms'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from simlib.quiz.schema import LETTERS, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.units import UnitError, convert, parse_quantity

__all__ = ["SELF_STUDY", "Reading", "answer_format", "read_answer"]

#: The student whose numeric variant self-study (no student) shows and grades.
SELF_STUDY = "guest"

_EXAMPLES = {
    "ms": "0.02 s",
    "us": "0.5 ms",
    "s": "1500 ms",
    "GB": "2 GiB",
    "MB": "0.5 GB",
    "GB/s": "100 Gbit/s",
    "x": "150%",
}
_LIST_CHARS = re.compile(r"[\s,;/\[\]\"'()]+")


@dataclass(frozen=True)
class Reading:
    """What was read from a typed answer: ``value`` for the grader, or a ``problem`` to fix."""

    value: Any = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def answer_format(item) -> str:
    """How to write an answer to ``item``, as the prompt shows it."""
    if isinstance(item, SingleChoice):
        return f'one letter, {LETTERS[0]} to {LETTERS[len(item.options) - 1]}, e.g. "A"'
    if isinstance(item, MultipleChoice):
        return 'letters, e.g. ["A", "C"] or A, C or AC'
    if isinstance(item, NumericItem):
        unit = f" in {item.unit}" if item.unit else ""
        example = _EXAMPLES.get(item.unit)
        other = f"; other units are converted, e.g. {example}" if example else ""
        return f"a number{unit}{other}"
    return "a few sentences of free text"


def _letters(text: str, n_options: int) -> list[str] | str:
    """The letters in ``text``, or a problem (str) when anything else is there."""
    parts = [p for p in _LIST_CHARS.split(text.strip().upper()) if p]
    letters = [ch for part in parts for ch in part] if all(p.isalpha() for p in parts) else None
    valid = LETTERS[:n_options]
    if not letters or any(ch not in valid for ch in letters):
        return f"{text.strip()[:40]!r} is not option letters; use letters {valid[0]} to {valid[-1]}"
    return letters


def _read_single(item: SingleChoice, text: str) -> Reading:
    letters = _letters(text, len(item.options))
    if isinstance(letters, str):
        return Reading(problem=letters)
    if len(set(letters)) != 1:
        return Reading(problem="choose exactly one letter")
    return Reading(letters[0])


def _read_multiple(item: MultipleChoice, text: str) -> Reading:
    letters = _letters(text, len(item.options))
    if isinstance(letters, str):
        return Reading(problem=letters)
    return Reading(sorted(set(letters)))


def _read_numeric(item: NumericItem, text: str) -> Reading:
    try:
        quantity = parse_quantity(text)
        value = convert(quantity.value, quantity.unit, item.unit)
    except UnitError as exc:
        return Reading(problem=str(exc))
    if not math.isfinite(value):
        return Reading(problem=f"{text.strip()[:40]!r} is too large; write a finite number")
    return Reading(value)


def read_answer(item, text: str | None) -> Reading:
    """Read ``text`` as an answer to ``item``; an empty or unreadable one has a ``problem``."""
    if text is None or not str(text).strip():
        return Reading(problem="no answer given")
    text = str(text)
    if isinstance(item, SingleChoice):
        return _read_single(item, text)
    if isinstance(item, MultipleChoice):
        return _read_multiple(item, text)
    if isinstance(item, NumericItem):
        return _read_numeric(item, text)
    return Reading(text.strip())
