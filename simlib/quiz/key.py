"""The teacher's answer key: each student's letters and numbers, recomputed from the secret.

A student's paper shows choice options in their own order and numbers of their own variant,
both seeded by an HMAC keyed with the course secret (:mod:`simlib.quiz.order`). The teacher,
who holds the secret, recomputes them here: for every student and item, the answer as that
student must write it (letters in their order, the numeric key with its tolerance and the range
it accepts, the concepts a free-text answer must state), plus the paper id printed on their
paper. Nothing here writes the secret itself.

A roster is a CSV file whose first row names the columns; the student ids are read from the
first of these columns (case-insensitive) whose every non-empty value is a valid id:
``student``, ``student_id``, ``student id``, ``sis login id``, ``login id``, ``sis user id``,
``username``, ``user``, ``email``, ``id`` (or the column named by ``column``). So a one-column
file ``student\\nada\\nbob`` works, and so does a Canvas gradebook export, whose ``Student``
column holds display names ("Lovelace, Ada", not ids) and whose ``SIS Login ID`` column holds
the logins (with ``SIS Login ID`` or ``SIS User ID`` present, ``Student`` is never read as
ids); its "Points Possible" and "Manual Posting" rows and rows with an empty id are skipped.
A comma, semicolon or tab separates fields; a byte-order mark is ignored; repeated ids are
listed once.

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> roster = parse_roster("student\\nada\\nbob\\nada\\n")
    >>> roster
    ('ada', 'bob')
    >>> rows = answer_key(load_bank("basics"), roster, course="secret")
    >>> {r.student for r in rows} == {"ada", "bob"} and all(len(r.paper_id) == 16 for r in rows)
    True
"""

from __future__ import annotations

import csv
import io
import math
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
    "ROSTER_COLUMNS",
    "KeyRow",
    "accepted_range",
    "answer_key",
    "check_student",
    "key_csv",
    "key_json",
    "parse_roster",
    "read_roster",
    "write_key",
]

ROSTER_COLUMNS = (
    "student",
    "student_id",
    "student id",
    "sis login id",
    "login id",
    "sis user id",
    "username",
    "user",
    "email",
    "id",
)
MAX_ROSTER_BYTES = 10_000_000
_STUDENT = re.compile(STUDENT_PATTERN)
_SKIP_ROWS = {"points possible", "muted", "manual posting", "read only"}
_CANVAS = {"sis login id", "sis user id"}
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
    if tolerance.relative is not None:
        half = tolerance.relative * abs(key)
    elif tolerance.absolute is not None:
        half = tolerance.absolute
    elif key == 0:
        half = 0.0
    else:
        half = 0.5 * 10 ** (math.floor(math.log10(abs(key))) - tolerance.sigfigs + 1)
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


def _delimiter(header: str) -> str:
    if "," in header:
        return ","
    if "\t" in header:
        return "\t"
    return ";" if ";" in header else ","


def _bad_value(rows, index: int, source: str, name: str) -> str | None:
    for number, row in rows:
        value = row[index].strip() if index < len(row) else ""
        if value and not _STUDENT.match(value):
            return (
                f"{source} row {number}, column {name!r}: {value[:60]!r} is not a student id "
                "(1 to 128 letters, digits, '.', '_', '@', '+' or '-')"
            )
    return None


def parse_roster(text: str, source: str = "<roster>", column: str | None = None) -> tuple[str, ...]:
    """The student ids of a roster's CSV text, in file order, each once (see the module doc)."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    try:
        table = list(csv.reader(io.StringIO(text), delimiter=_delimiter(first)))
    except csv.Error as exc:
        raise RosterError(f"{source}: not readable as CSV ({exc}); save it as plain CSV") from None
    table = [r for r in table if any(c.strip() for c in r)]
    if not table:
        raise RosterError(
            f"{source}: the roster is empty; write a header 'student' and one id a row"
        )
    header = [c.strip().lower() for c in table[0]]
    rows = [
        (number, row)
        for number, row in enumerate(table[1:], 2)
        if not (row and row[0].strip().lower() in _SKIP_ROWS)
    ]
    wanted = [column.strip().lower()] if column is not None else list(ROSTER_COLUMNS)
    if column is None and _CANVAS & set(header):
        wanted.remove("student")  # Canvas: display names ("Lovelace, Ada"), never ids
    problem = None
    for name in wanted:
        if name not in header:
            continue
        index = header.index(name)
        problem = _bad_value(rows, index, source, table[0][index].strip())
        if problem is None:
            ids = (row[index].strip() for _, row in rows if index < len(row))
            students = tuple(dict.fromkeys(i for i in ids if i))
            if students:
                return students
            problem = f"{source}: column {table[0][index].strip()!r} has no student ids"
        if column is not None:
            break
    if problem is None:
        shown = [c.strip() for c in table[0]][:12]
        asked = f"a column {column!r}" if column is not None else "a 'student' column"
        problem = (
            f"{source}: no column of student ids in the header {shown}; the first row must name "
            f"{asked} (or one of {list(ROSTER_COLUMNS[1:])}), or pass --column NAME"
        )
    raise RosterError(problem)


def read_roster(path: str | os.PathLike, column: str | None = None) -> tuple[str, ...]:
    """The student ids in the roster CSV at ``path`` (see :func:`parse_roster`)."""
    where = Path(path)
    try:
        with where.open("rb") as handle:
            data = handle.read(MAX_ROSTER_BYTES + 1)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise RosterError(f"--roster {os.fspath(path)!r}: cannot be read ({why})") from None
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterError(f"{where}: over {MAX_ROSTER_BYTES} bytes; is this a roster?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RosterError(f"{where}: not UTF-8 text; export the roster as UTF-8 CSV") from None
    return parse_roster(text, str(where), column)
