"""A class roster: who the students are, and who each one is in the LMS. One reader for all.

A roster is a CSV file whose first row names the columns. The **student ids** (the ids papers,
keys and submissions use) are read from the first of these columns (case-insensitive) whose
every non-empty value is a valid id: ``student``, ``student_id``, ``student id``,
``sis login id``, ``login id``, ``sis user id``, ``username``, ``user``, ``email``, ``id`` (or
the column named by ``column``). So a one-column file ``student\\nada\\nbob`` works, and so does
a Canvas gradebook export, whose ``Student`` column holds display names ("Lovelace, Ada", not
ids) and whose ``SIS Login ID`` column holds the logins (with ``SIS Login ID`` or ``SIS User ID``
present, ``Student`` is never read as ids); its "Points Possible" and "Manual Posting" rows and
rows with an empty id are skipped. A comma, semicolon or tab separates fields; a byte-order mark
is ignored; other columns (a Canvas export's assignment columns) are ignored.

The **LMS identities** that gradebook exports need (:mod:`simlib.quiz.gradebook_formats`) come
from optional columns, by any of their names: ``name`` (``full name``; a Canvas export's
``Student``), ``canvas_id`` (a Canvas export's ``ID``), ``sis_user_id``, ``sis_login_id``,
``section``, ``email`` (``email address``), ``username``. A student listed twice with the same
identities counts once; twice with different ones is an error naming the row.

Example:
    >>> roster = parse_roster("student,name,email\\nada,Ada L,ada@uni\\nbob,Bob B,bob@uni\\n")
    >>> roster.students
    ('ada', 'bob')
    >>> roster.rows[0].email
    'ada@uni'
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass

from simlib.quiz.errors import RosterError
from simlib.quiz.submissions import STUDENT_PATTERN
from simlib.yaml_files import read_text

__all__ = [
    "ID_COLUMNS",
    "IDENTITY_COLUMNS",
    "MAX_ROSTER_BYTES",
    "Roster",
    "RosterRow",
    "parse_roster",
    "read_roster",
]

ID_COLUMNS = (
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
# RosterRow field -> the header names it is read from (lower case), first found wins.
IDENTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "student name"),
    "canvas_id": ("canvas_id", "canvas id"),
    "sis_user_id": ("sis_user_id", "sis user id"),
    "sis_login_id": ("sis_login_id", "sis login id"),
    "section": ("section",),
    "email": ("email", "email address"),
    "username": ("username",),
}
# In a Canvas gradebook export these mean: Student = display name, ID = Canvas's user id.
_CANVAS_EXPORT = {"sis login id", "sis user id"}
_CANVAS_ALIASES = {"name": "student", "canvas_id": "id"}
MAX_ROSTER_BYTES = 10_000_000
_STUDENT = re.compile(STUDENT_PATTERN)
_SKIP_ROWS = {"points possible", "muted", "manual posting", "read only"}


@dataclass(frozen=True)
class RosterRow:
    """One student's id and LMS identities (empty strings where the roster has none)."""

    student: str
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""
    username: str = ""


@dataclass(frozen=True)
class Roster:
    """The class list, in the roster's order, each student once."""

    path: str
    rows: tuple[RosterRow, ...]

    @property
    def students(self) -> tuple[str, ...]:
        return tuple(r.student for r in self.rows)

    def need(self, column: str, fmt: str) -> None:
        """Every row must have ``column``; otherwise a :class:`RosterError` naming a student."""
        for row in self.rows:
            if not getattr(row, column):
                raise RosterError(
                    f"{self.path}: student {row.student!r} has no {column!r}; "
                    f"--csv-format {fmt} needs it for every student"
                )


def _delimiter(header: str) -> str:
    if "," in header:
        return ","
    if "\t" in header:
        return "\t"
    return ";" if ";" in header else ","


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if 0 <= index < len(row) else ""


def _bad_value(rows, index: int, source: str, name: str) -> str | None:
    for number, row in rows:
        value = _cell(row, index)
        if value and not _STUDENT.match(value):
            return (
                f"{source} row {number}, column {name!r}: {value[:60]!r} is not a student id "
                "(1 to 128 letters, digits, '.', '_', '@', '+' or '-')"
            )
    return None


def _id_column(header, table, rows, source: str, column: str | None) -> int:
    wanted = [column.strip().lower()] if column is not None else list(ID_COLUMNS)
    if column is None and _CANVAS_EXPORT & set(header):
        wanted.remove("student")  # Canvas: display names ("Lovelace, Ada"), never ids
    problem = None
    for name in wanted:
        if name not in header:
            continue
        index = header.index(name)
        problem = _bad_value(rows, index, source, table[0][index].strip())
        if problem is None:
            if any(_cell(row, index) for _, row in rows):
                return index
            problem = f"{source}: column {table[0][index].strip()!r} has no student ids"
        if column is not None:
            break
    if problem is None:
        shown = [c.strip() for c in table[0]][:12]
        asked = f"a column {column!r}" if column is not None else "a 'student' column"
        problem = (
            f"{source}: no column of student ids in the header {shown}; the first row must name "
            f"{asked} (or one of {list(ID_COLUMNS[1:])}), or pass --column NAME"
        )
    raise RosterError(problem)


def _identity_columns(header: list[str]) -> dict[str, int]:
    canvas = bool(_CANVAS_EXPORT & set(header))
    out = {}
    for field, names in IDENTITY_COLUMNS.items():
        if canvas and field in _CANVAS_ALIASES:
            names = (*names, _CANVAS_ALIASES[field])
        index = next((header.index(n) for n in names if n in header), -1)
        if index >= 0:
            out[field] = index
    return out


def parse_roster(text: str, source: str = "<roster>", column: str | None = None) -> Roster:
    """The roster in CSV ``text`` (see the module doc); ``source`` names it in errors."""
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
    id_index = _id_column(header, table, rows, source, column)
    identities = _identity_columns(header)
    kept: dict[str, RosterRow] = {}
    for number, row in rows:
        student = _cell(row, id_index)
        if not student:
            continue
        entry = RosterRow(student, **{f: _cell(row, i) for f, i in identities.items()})
        if student in kept and kept[student] != entry:
            raise RosterError(
                f"{source}: row {number}: student {student!r} appears twice with different "
                "details; keep one row per student"
            )
        kept.setdefault(student, entry)
    return Roster(source, tuple(kept.values()))


def read_roster(path: str | os.PathLike, column: str | None = None) -> Roster:
    """The roster CSV at ``path`` (UTF-8), see :func:`parse_roster`."""
    text = read_text(path, what="roster", error=RosterError, max_bytes=MAX_ROSTER_BYTES)
    return parse_roster(text, os.fspath(path), column)
