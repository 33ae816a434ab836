"""Gradebook CSVs that an LMS imports: simlib's own, Canvas's and Moodle's.

A roster (:mod:`simlib.quiz.roster`, the one reader keys and papers use too) maps the
``student`` id of the submissions to the LMS's identities (name, canvas_id, sis_user_id,
sis_login_id, section, email, username), as each format needs them.

- ``canvas``: Canvas's gradebook import columns ``Student, ID, SIS User ID, SIS Login ID,
  Section`` and one assignment column (``"Quiz 3 (1234)"``: name and Canvas assignment id, or
  a new name), then a ``Points Possible`` row, then one row per roster student. Canvas needs
  a ``name`` and one of ``canvas_id``, ``sis_user_id``, ``sis_login_id`` for each student.
  Source: Canvas guide "How do I import grades in the Gradebook?".
- ``moodle``: Moodle's "Import grades from CSV": an identifier column (``Email address`` when
  every roster row has an email, else ``Username``), mapped to the user on import, and one
  grade column. Source: Moodle docs "Grade import".

A student graded but not in the roster has no LMS identity: they are left out of the file and
reported (:attr:`LmsGradebook.not_in_roster`). A roster student with no submission gets an
empty grade (both LMSs leave an empty cell unchanged) and is reported too
(:attr:`LmsGradebook.no_submission`).

Example:
    >>> from simlib.quiz.roster import parse_roster
    >>> roster = parse_roster("student,name,canvas_id\\nada,Ada L,7\\n", "r.csv")
    >>> roster.rows[0].canvas_id
    '7'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from simlib.quiz.errors import RosterError
from simlib.quiz.gradebook import Gradebook, csv_text
from simlib.quiz.roster import IDENTITY_COLUMNS, Roster

__all__ = [
    "CSV_FORMATS",
    "CsvFormat",
    "LmsGradebook",
]

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@dataclass(frozen=True)
class LmsGradebook:
    """A gradebook CSV for an LMS, and who could not be matched."""

    text: str
    not_in_roster: tuple[str, ...] = ()
    no_submission: tuple[str, ...] = ()
    rows: int = 0


def _score(value: float) -> str:
    return f"{round(float(value), 4):g}"


def _match(book: Gradebook, roster: Roster):
    scores = {r.student: r.score for r in book.rows}
    listed = {r.student for r in roster.rows}
    missing = tuple(sorted(s for s in scores if s not in listed))
    absent = tuple(r.student for r in roster.rows if r.student not in scores)
    return scores, missing, absent


def canvas_csv(book: Gradebook, roster: Roster, assignment: str) -> LmsGradebook:
    """Canvas's gradebook import: identity columns, one assignment column, Points Possible."""
    roster.need("name", "canvas")
    for r in roster.rows:
        if not (r.canvas_id or r.sis_user_id or r.sis_login_id):
            raise RosterError(
                f"{roster.path}: student {r.student!r} has none of canvas_id, "
                "sis_user_id, sis_login_id; Canvas matches a student by one of them"
            )
    scores, missing, absent = _match(book, roster)
    max_score = sum(item.points for item in book.bank.items)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([*CANVAS_COLUMNS, assignment])
    w.writerow(["Points Possible", "", "", "", "", _score(max_score)])
    for r in roster.rows:
        grade = _score(scores[r.student]) if r.student in scores else ""
        w.writerow([r.name, r.canvas_id, r.sis_user_id, r.sis_login_id, r.section, grade])
    return LmsGradebook(out.getvalue(), missing, absent, len(roster.rows))


def moodle_csv(book: Gradebook, roster: Roster, assignment: str) -> LmsGradebook:
    """Moodle's CSV grade import: one identifier column and one grade column."""
    if all(r.email for r in roster.rows):
        header, column = "Email address", "email"
    elif all(r.username for r in roster.rows):
        header, column = "Username", "username"
    else:
        column = "email" if any(r.email for r in roster.rows) else "username"
        roster.need(column, "moodle (an email, or else a username, for every student)")
    scores, missing, absent = _match(book, roster)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([header, assignment])
    for r in roster.rows:
        grade = _score(scores[r.student]) if r.student in scores else ""
        w.writerow([getattr(r, column), grade])
    return LmsGradebook(out.getvalue(), missing, absent, len(roster.rows))


def simlib_csv(book: Gradebook, roster: Roster | None, assignment: str) -> LmsGradebook:
    """simlib's own CSV (one row per graded student); a roster only adds the reports."""
    if roster is None:
        return LmsGradebook(csv_text(book), rows=len(book.rows))
    _, missing, absent = _match(book, roster)
    return LmsGradebook(csv_text(book), missing, absent, len(book.rows))


@dataclass(frozen=True)
class CsvFormat:
    """A gradebook CSV layout: its name, whether it needs a roster, and its writer."""

    name: str
    needs_roster: bool
    build: Callable[[Gradebook, Roster | None, str], LmsGradebook] = field(repr=False)

    def render(self, book: Gradebook, roster: Roster | None, assignment: str) -> LmsGradebook:
        if self.needs_roster and roster is None:
            raise RosterError(
                f"--csv-format {self.name} needs --roster roster.csv (a student column and "
                f"{', '.join(IDENTITY_COLUMNS)}) to give each student their {self.name} identity"
            )
        return self.build(book, roster, assignment)


CSV_FORMATS: dict[str, CsvFormat] = {
    f.name: f
    for f in (
        CsvFormat("simlib", False, simlib_csv),
        CsvFormat("canvas", True, canvas_csv),
        CsvFormat("moodle", True, moodle_csv),
    )
}
