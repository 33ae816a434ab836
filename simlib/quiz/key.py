"""The teacher's answer key: each student's letters and numbers, recomputed from the secret.

A student's paper shows choice options in their own order and numbers of their own variant,
both seeded by an HMAC keyed with the course secret (:mod:`simlib.quiz.order`). The teacher,
who holds the secret, recomputes them here: for every student and item, the answer as that
student must write it (letters in their order, the numeric key with its tolerance and the range
it accepts, the concepts a free-text answer must state), plus the paper id printed on their
paper. Nothing here writes the secret itself.

Rosters are read by :mod:`simlib.quiz.roster` (one reader for keys, papers and gradebooks).

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> rows = answer_key(load_bank("basics"), ("ada", "bob"), course="secret")
    >>> {r.student for r in rows} == {"ada", "bob"} and all(len(r.paper_id) == 16 for r in rows)
    True
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from simlib.quiz.errors import QuizError, RosterError
from simlib.quiz.order import option_order, paper_id, to_shown
from simlib.quiz.schema import (
    LETTERS,
    Bank,
    ConceptItem,
    MultipleChoice,
    NumericItem,
    SingleChoice,
    Tolerance,
)
from simlib.quiz.storage import write_json_atomic, write_text_atomic
from simlib.quiz.submissions import STUDENT_PATTERN
from simlib.quiz.variants import DEFAULT_COURSE, format_number, make_variant

__all__ = [
    "KEY_COLUMNS",
    "KeyRow",
    "accepted_range",
    "answer_key",
    "check_student",
    "key_csv",
    "key_json",
    "write_key",
]

_STUDENT = re.compile(STUDENT_PATTERN)
KEY_COLUMNS = (
    "student",
    "paper_id",
    "attempt",
    "item",
    "type",
    "points",
    "answer",
    "answer_text",
    "unit",
    "tolerance",
    "accept_min",
    "accept_max",
)


@dataclass(frozen=True)
class KeyRow:
    """One student's answer to one item, as they must write it on their paper.

    ``answer`` is a letter (single), letters in the student's order (multiple), the computed key
    (numeric) or the concept names (free text); ``answer_text`` is the option text(s) or the
    model answer. Numeric rows give the tolerance in words and the range it accepts.
    """

    student: str
    paper_id: str
    attempt: int
    item: str
    type: str
    points: float
    answer: str | list[str] | float
    answer_text: str
    unit: str = ""
    tolerance: str = ""
    accept_min: float | None = None
    accept_max: float | None = None


def check_student(student: object, source: str = "--student") -> str:
    """``student`` if it is a valid id (the pattern submissions use), else :class:`RosterError`."""
    if not isinstance(student, str) or not _STUDENT.match(student):
        raise RosterError(
            f"{source}: {str(student)[:60]!r} is not a student id; use 1 to 128 letters, digits, "
            "'.', '_', '@', '+' or '-', starting with a letter or digit"
        )
    return student


def accepted_range(key: float, tolerance: Tolerance) -> tuple[float, float]:
    """The answers :func:`simlib.quiz.grading.within` accepts for ``key``: (low, high).

    >>> accepted_range(100.0, Tolerance(relative=0.02))
    (98.0, 102.0)
    >>> accepted_range(19.25, Tolerance(sigfigs=3))
    (19.2, 19.3)
    """
    half = tolerance.margin(key)
    return float(f"{key - half:.12g}"), float(f"{key + half:.12g}")


def _tolerance_words(tolerance: Tolerance, unit: str) -> str:
    if tolerance.relative is not None:
        return f"within {tolerance.relative * 100:g}%"
    if tolerance.absolute is not None:
        return f"within {format_number(tolerance.absolute)}{' ' + unit if unit else ''}"
    return f"{tolerance.sigfigs} significant figures"


def _item_row(item, student: str, pid: str, course: str, attempt: int) -> KeyRow:
    base = {
        "student": student,
        "paper_id": pid,
        "attempt": attempt,
        "item": item.id,
        "type": item.type,
        "points": float(item.points),
    }
    if isinstance(item, SingleChoice | MultipleChoice):
        order = option_order(
            item.id, len(item.options), student=student, course=course, attempt=attempt
        )
        authored = [item.answer] if isinstance(item, SingleChoice) else list(item.answer)
        pairs = sorted((to_shown(a, order), item.options[LETTERS.index(a)]) for a in authored)
        answer = pairs[0][0] if isinstance(item, SingleChoice) else [p[0] for p in pairs]
        text = " | ".join(p[1] for p in pairs)
        return KeyRow(**base, answer=answer, answer_text=text)
    if isinstance(item, NumericItem):
        variant = make_variant(item, student, course=course, attempt=attempt)
        low, high = accepted_range(variant.key, item.tolerance)
        return KeyRow(
            **base,
            answer=float(variant.key),
            answer_text=variant.prompt,
            unit=item.unit,
            tolerance=_tolerance_words(item.tolerance, item.unit),
            accept_min=low,
            accept_max=high,
        )
    if isinstance(item, ConceptItem):
        names = [c.name for c in item.concepts]
        return KeyRow(**base, answer=names, answer_text=item.model_answer)
    raise QuizError(f"item {item.id!r}: type {item.type!r} has no key")  # pragma: no cover


def answer_key(
    bank: Bank,
    students: Iterable[str],
    *,
    course: str = DEFAULT_COURSE,
    attempt: int = 0,
    items: Sequence[str] | None = None,
) -> list[KeyRow]:
    """Every student's key to ``bank`` (all items, or ``items``), student by student."""
    chosen = bank.items if items is None else [bank.item(i) for i in items]
    rows = []
    for student in students:
        check_student(student)
        pid = paper_id(course, bank.topic, student, attempt)
        rows += [_item_row(item, student, pid, course, attempt) for item in chosen]
    return rows


def _cell(value, sep: str = ",") -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return sep.join(value)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def key_csv(rows: Sequence[KeyRow]) -> str:
    """The key as CSV, one row per (student, item), columns :data:`KEY_COLUMNS`.

    Letters of a multiple-choice key are joined by commas (``A,C``, as a submission may write
    them); the concepts of a free-text item, whose names hold commas, by `` | ``.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(KEY_COLUMNS)
    for row in rows:
        data = asdict(row)
        sep = " | " if row.type == "concepts" else ","
        writer.writerow([_cell(data[c], sep) for c in KEY_COLUMNS])
    return out.getvalue()


def key_json(bank: Bank, rows: Sequence[KeyRow]) -> dict:
    """The key as one JSON object: ``{"bank", "students": {ID: {"paper_id", "items": {...}}}}``."""
    students: dict[str, dict] = {}
    for row in rows:
        entry = students.setdefault(
            row.student, {"paper_id": row.paper_id, "attempt": row.attempt, "items": {}}
        )
        data = {
            k: v
            for k, v in asdict(row).items()
            if k not in ("student", "paper_id", "attempt", "item")
        }
        entry["items"][row.item] = {k: v for k, v in data.items() if v not in ("", None)}
    return {"format": "simlib-answer-key", "bank": bank.topic, "students": students}


def write_key(bank: Bank, rows: Sequence[KeyRow], path: str | os.PathLike) -> Path:
    """Write the key to ``path``: CSV for ``.csv``, JSON for ``.json`` (atomically)."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        write_text_atomic(target, key_csv(rows))
    elif suffix == ".json":
        write_json_atomic(target, key_json(bank, rows))
    else:
        raise RosterError(
            f"--out {os.fspath(path)!r}: the key is written as .csv or .json; name the file so"
        )
    return target
