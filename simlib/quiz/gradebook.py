"""Grade a whole class and write the grades: a CSV for the teacher, a class-wide JSON.

Both files are written together by :func:`simlib.files.write_files` (a kill leaves both old
or both new) and hold nothing that changes between runs (no times, rows sorted by student), so
grading the same folder twice gives byte-identical files.

The class JSON (``quiz grade --json-out``) holds each student's score, per-item scores and
feedback under ``"students"``, plus the files that were rejected and why. It is simlib's own
format: Gradescope's ``results.json`` is per submission and comes from the autograder
(:mod:`simlib.quiz.autograder`).

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> book = grade_class(load_bank("basics"), [])
    >>> book.rows
    ()
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

from simlib.files import write_files
from simlib.quiz.grading import SubmissionResult, grade_submission
from simlib.quiz.schema import Bank
from simlib.quiz.submissions import Rejected, Submission
from simlib.quiz.variants import DEFAULT_COURSE

__all__ = ["Gradebook", "grade_class", "write_csv", "write_gradebook", "write_class_json"]


@dataclass(frozen=True)
class Gradebook:
    """Every student's graded submission (sorted by student), and the rejected files.

    ``course`` is the course secret the grading used; it is never written out."""

    bank: Bank
    course: str
    rows: tuple[SubmissionResult, ...]
    rejected: tuple[Rejected, ...] = ()
    #: Overrides applied by a regrade (:mod:`simlib.quiz.overrides`); None when none were given.
    overrides: tuple | None = None

    def overrides_for(self, student: str) -> list:
        """The overrides applied to ``student``'s grade, in the order they were applied."""
        return [a for a in self.overrides or () if a.student == student]

    @property
    def skipped(self) -> tuple[Rejected, ...]:
        """Files not graded because something was wrong with them (not older attempts)."""
        return tuple(r for r in self.rejected if r.replaced_by is None)

    @property
    def replaced(self) -> tuple[Rejected, ...]:
        """Older attempts and older files of a student, replaced by the one graded."""
        return tuple(r for r in self.rejected if r.replaced_by is not None)

    def summary(self) -> dict:
        """Counts and mean score, for ``--json`` output."""
        scores = [r.score for r in self.rows]
        return {
            "bank": self.bank.topic,
            "graded": len(self.rows),
            "rejected": [{"file": r.path, "reason": r.reason} for r in self.skipped],
            "replaced": [
                {"file": r.path, "by": r.replaced_by, "reason": r.reason} for r in self.replaced
            ],
            "max_score": _round(sum(item.points for item in self.bank.items)),
            "mean_score": _round(sum(scores) / len(scores)) if scores else None,
        }


def _round(value: float) -> float:
    return round(float(value), 6)


def grade_class(
    bank: Bank,
    submissions: Sequence[Submission],
    rejected: Sequence[Rejected] = (),
    *,
    course: str = DEFAULT_COURSE,
) -> Gradebook:
    """Grade each submission against ``bank``; rows come out sorted by student.

    Submissions are validated and bounded before they get here; should grading one of them
    still raise, it is added to the rejected files (with the error's type) and every other
    submission is graded.
    """
    rows, failed = [], list(rejected)
    for s in submissions:
        try:
            rows.append(
                grade_submission(bank, s.student, s.answers, course=course, attempt=s.attempt)
            )
        except Exception as exc:  # noqa: BLE001 - one submission must never stop the class
            name = getattr(s, "source", "") or s.student
            failed.append(
                Rejected(
                    name,
                    f"{name}: could not be graded ({type(exc).__name__}); every other file "
                    "was; please report this file as a bug",
                )
            )
    rows.sort(key=lambda r: r.student)
    return Gradebook(bank, course, tuple(rows), tuple(sorted(failed, key=lambda r: r.path)))


def csv_text(book: Gradebook) -> str:
    """The gradebook as CSV: student, attempt, score, max_score, percent, one column per item."""
    ids = [item.id for item in book.bank.items]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    extra = ["overrides"] if book.overrides is not None else []
    writer.writerow(["student", "attempt", "score", "max_score", "percent", *ids, *extra])
    for row in book.rows:
        by_id = {r.item_id: r.score for r in row.items}
        percent = 100 * row.score / row.max_score if row.max_score else 0.0
        writer.writerow(
            [row.student, row.attempt, f"{row.score:.4g}", f"{row.max_score:.4g}", f"{percent:.1f}"]
            + [f"{by_id[i]:.4g}" for i in ids]
            + (["; ".join(a.text() for a in book.overrides_for(row.student))] if extra else [])
        )
    return out.getvalue()


def write_csv(book: Gradebook, path: str | os.PathLike) -> None:
    """Write :func:`csv_text` to ``path`` atomically."""
    write_gradebook(book, csv_path=path)


def class_data(book: Gradebook) -> dict:
    """Every student's score, per-item scores and feedback, plus the rejected files."""
    students = {}
    for row in book.rows:
        tests = [
            {
                "name": r.item_id,
                "score": _round(r.score),
                "max_score": _round(r.points),
                "output": r.feedback,
                "visibility": "after_published",
            }
            for r in row.items
        ]
        regraded = "".join(f"\nRegraded {a.text()}" for a in book.overrides_for(row.student))
        students[row.student] = {
            "score": _round(row.score),
            "max_score": _round(row.max_score),
            "tests": tests,
            "output": f"{_round(row.score):g}/{_round(row.max_score):g} points{regraded}",
        }
    data = {"format": "simlib-class-grades", **book.summary(), "students": students}
    if book.overrides is not None:
        data["overrides"] = [a.as_dict() for a in book.overrides]
    return data


def class_json_text(book: Gradebook) -> str:
    """:func:`class_data` as sorted, indented JSON (same book, same bytes)."""
    return json.dumps(class_data(book), indent=2, sort_keys=True) + "\n"


def write_class_json(book: Gradebook, path: str | os.PathLike) -> None:
    """Write :func:`class_data` to ``path`` as sorted JSON, atomically."""
    write_gradebook(book, json_path=path)


def write_gradebook(
    book: Gradebook,
    *,
    csv_path: str | os.PathLike | None = None,
    json_path: str | os.PathLike | None = None,
    csv_body: str | None = None,
) -> None:
    """Write the CSV and/or the class JSON together: after a kill, both old or both new.

    Both targets are checked before either is written (a folder or a device at either path
    means neither is written). ``csv_body`` replaces simlib's own CSV (an LMS's layout, see
    :mod:`simlib.quiz.gradebook_formats`).
    """
    outputs: dict[str | os.PathLike, bytes] = {}
    if csv_path is not None:
        outputs[csv_path] = (csv_text(book) if csv_body is None else csv_body).encode("utf-8")
    if json_path is not None:
        outputs[json_path] = class_json_text(book).encode("utf-8")
    if outputs:
        write_files(outputs)
