"""Students' submissions: ``{"student": ID, "answers": {ITEM_ID: ANSWER}}`` as JSON files.

An answer is an option letter (``"B"``), letters for a multiple choice (``["A", "C"]`` or
``"AC"``), a number (``12.5`` or ``"12.5"``) or free text. ``"attempt"`` (default 0) picks the
variant of numeric items. ``"paper_id"`` (optional, copied from the paper's submission template)
lets the grader check that the file answers that student's paper under the course secret.
Everything a file can hold is bounded and typed before it is graded:
the file by ``MAX_SUBMISSION_BYTES``, nesting by ``MAX_DEPTH``, numbers by
``MAX_NUMBER_MAGNITUDE`` (a 310-digit integer is refused here instead of overflowing in the
grader), strings by length, the student id by ``STUDENT_PATTERN``, the attempt by 0..10000, and
a key may appear only once. A file that breaks any of this is reported
(:class:`SubmissionError` naming file and field) and skipped; the rest of the class is still
graded. :func:`check_identity` applies the same student and attempt rules to ``quiz paper``.

In a folder (:func:`load_submissions`) every entry is accounted for: a name not ending in
``.json``, a symlink leading outside the folder, something that is not a regular file, an
unreadable, invalid or duplicate file is named in the rejected list with the reason, and file
names are escaped (:func:`simlib.files.printable`) before they are shown.

Example:
    >>> parse_submission('{"student": "ada", "answers": {"basics-goal": "B"}}').student
    'ada'
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    StrictInt,
    StrictStr,
    ValidationError,
)

from simlib.files import printable
from simlib.quiz.errors import SubmissionError

__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_DEPTH",
    "MAX_NUMBER_MAGNITUDE",
    "MAX_SUBMISSION_BYTES",
    "Identity",
    "Rejected",
    "Submission",
    "check_identity",
    "load_submissions",
    "parse_submission",
]

MAX_SUBMISSION_BYTES = 256_000
MAX_ANSWER_CHARS = 20_000
MAX_NUMBER_MAGNITUDE = 10**100  # far beyond any key; float(10**100) is exact enough and finite
MAX_DEPTH = 4  # {"answers": {"id": ["A", "C"]}} is depth 3
MAX_ATTEMPT = 10_000
STUDENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
PAPER_ID_PATTERN = r"^[0-9a-f]{16}$"

MAX_LETTERS = 8


def _digits(value: int) -> int:
    """Decimal digits of ``abs(value)`` (estimated past the 4300 that ``str`` will print)."""
    try:
        return len(str(abs(value)))
    except ValueError:
        return int(abs(value).bit_length() * 0.30103) + 1


def _answer(value: Any) -> Any:
    """One answer, typed and bounded, or a ``ValueError`` that says what is wrong with it."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("true/false is not an answer; write a letter, a number or text")
    if isinstance(value, str):
        if len(value) > MAX_ANSWER_CHARS:
            raise ValueError(f"{len(value)} characters is over the limit of {MAX_ANSWER_CHARS}")
        return value
    if isinstance(value, int):
        if abs(value) > MAX_NUMBER_MAGNITUDE:
            raise ValueError(
                f"a whole number of {_digits(value)} digits is beyond the limit of 1e100; "
                "write the answer in its unit, e.g. 1.2e3"
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_NUMBER_MAGNITUDE:
            raise ValueError(f"{value!r} is beyond the limit of 1e100")
        return value
    if isinstance(value, list):
        if len(value) > MAX_LETTERS or not all(
            isinstance(v, str) and len(v) <= MAX_LETTERS for v in value
        ):
            raise ValueError(f'a list answer is up to {MAX_LETTERS} letters, e.g. ["A", "C"]')
        return value
    raise ValueError(
        f"a {type(value).__name__} is not an answer; write a letter, letters, a number or text"
    )


Answer = Annotated[Any, PlainValidator(_answer)]


class Identity(BaseModel):
    """Who submits and which attempt: the rules ``quiz paper`` and ``quiz grade`` share."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    student: Annotated[StrictStr, Field(pattern=STUDENT_PATTERN)]
    attempt: Annotated[StrictInt, Field(ge=0, le=MAX_ATTEMPT)] = 0


class Submission(Identity):
    """One student's answers to one bank; ``source`` is the file it came from (if any)."""

    answers: Annotated[dict[Annotated[str, Field(max_length=64)], Answer], Field(max_length=500)]
    paper_id: Annotated[StrictStr, Field(pattern=PAPER_ID_PATTERN)] | None = None
    _source: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        return self._source


_ID_HINT = (
    "a student id is 1-128 letters, digits, '.', '_', '@', '+' or '-' starting with a letter or "
    f"digit, and an attempt a whole number from 0 to {MAX_ATTEMPT}"
)


def check_identity(student: Any, attempt: Any = 0) -> Identity:
    """Validate a student id and attempt as grading will; raise :class:`SubmissionError`.

    Example:
        >>> check_identity("ada", 2).attempt
        2
        >>> check_identity("=HYPERLINK()", 0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        simlib.quiz.errors.SubmissionError: student '=HYPERLINK()' ...
    """
    try:
        return Identity.model_validate({"student": student, "attempt": attempt})
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors(include_url=False) if e["loc"]})
        shown = {"student": printable(repr(student), 60), "attempt": printable(repr(attempt), 30)}
        what = ", ".join(f"{f} {shown.get(f, '')}" for f in fields)
        raise SubmissionError(f"{what} would be refused by quiz grade; {_ID_HINT}") from None


@dataclass(frozen=True)
class Rejected:
    """A submission file that was not graded, and why.

    ``replaced_by`` names the file graded instead when this one is an older attempt (or an
    older file of the same attempt) of the same student: not an error, a choice.
    """

    path: str
    reason: str
    replaced_by: str | None = None


def _explain(exc: ValidationError, source: str) -> str:
    parts = []
    errors = exc.errors(include_url=False)
    for error in errors[:3]:
        field = ".".join(printable(str(p), 64) for p in error["loc"]) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"field {field}: {printable(message, 160)}")
    hint = (
        '; fix: write {"student": "ID", "answers": {"ITEM_ID": "B"}} with a student ID of '
        "letters, digits, '.', '_', '@', '+' or '-'"
    )
    if all(e["type"] == "value_error" for e in errors):
        hint = ""
    return f"{source}: " + " | ".join(parts) + hint


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"the key {printable(repr(key), 40)} appears twice")
        out[key] = value
    return out


def _too_deep(data: Any, limit: int) -> bool:
    """True when lists/objects nest more than ``limit`` levels (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def parse_submission(text: str | bytes, source: str = "<submission>") -> Submission:
    """Validate a submission's JSON text; a bad one raises :class:`SubmissionError`."""
    if len(text) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(
            f"{source}: {len(text)} bytes is over the limit of {MAX_SUBMISSION_BYTES}; "
            "submit shorter answers"
        )
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise SubmissionError(f"{source}: {exc}; keep one of them") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        why = printable(str(exc), 120)
        raise SubmissionError(f"{source}: not valid JSON ({why}); fix the file") from None
    if _too_deep(data, MAX_DEPTH):
        raise SubmissionError(
            f"{source}: nested deeper than {MAX_DEPTH} levels; an answer is a letter, a list "
            "of letters, a number or text"
        )
    try:
        sub = Submission.model_validate(data)
    except ValidationError as exc:
        raise SubmissionError(_explain(exc, source)) from None
    except (RecursionError, ValueError, TypeError) as exc:
        why = printable(str(exc), 120)
        raise SubmissionError(f"{source}: cannot be validated ({why})") from None
    sub._source = source
    return sub


def _read(path: Path, shown: str) -> bytes:
    """The file's bytes, refusing what is not a regular file or is over the size limit.

    The size is checked on what is actually read (at most one byte past the limit), so a
    link to ``/dev/zero`` or a file that grows while it is read cannot exhaust memory; the
    file is opened without blocking, so a FIFO that slipped past the check cannot hang.
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise SubmissionError(
                f"{shown}: not a regular file (a device, pipe or folder?); skipped"
            )
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SubmissionError(f"{shown}: not a regular file; skipped")
            data = handle.read(MAX_SUBMISSION_BYTES + 1)
    except OSError as exc:
        raise SubmissionError(f"{shown}: cannot be read ({exc.strerror or exc}); skipped") from None
    if len(data) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"{shown}: over the limit of {MAX_SUBMISSION_BYTES} bytes; skipped")
    return data


def _link_problem(path: Path, root: Path) -> str | None:
    """Why the symlink ``path`` may not be read (loops, or leads outside ``root``), or None."""
    if not path.is_symlink():
        return None
    try:
        real = path.resolve(strict=False)
    except (OSError, RuntimeError):
        return "a symlink that loops; skipped (copy the file into the folder instead)"
    if root != real.parent and root not in real.parents:
        return (
            "a symlink leading outside the submissions folder; skipped (copy the file into "
            "the folder instead)"
        )
    return None


MAX_FOLDER_DEPTH = 4  # Moodle's and Gradescope's bulk downloads nest one or two folders


def _candidates(root: Path, rejected: list[Rejected]) -> list[tuple[Path, str]]:
    """Every file under ``root`` (to :data:`MAX_FOLDER_DEPTH` folders), sorted by relative path.

    What cannot be a submission is added to ``rejected`` with its reason.
    """
    real_root = root.resolve()
    out: list[tuple[Path, str]] = []
    stack: list[tuple[Path, str, int]] = [(root, "", 0)]
    while stack:
        folder, prefix, depth = stack.pop()
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            shown = printable(prefix or str(folder))
            rejected.append(Rejected(shown, f"{shown}: cannot be listed ({exc.strerror}); skipped"))
            continue
        for name in names:
            path, rel = folder / name, f"{prefix}{name}"
            shown = printable(rel)
            if path.is_dir() and not path.is_symlink():
                if depth + 1 > MAX_FOLDER_DEPTH:
                    rejected.append(
                        Rejected(
                            shown,
                            f"{shown}: a folder nested over {MAX_FOLDER_DEPTH} deep; "
                            "skipped (move its files up)",
                        )  # fmt: skip
                    )
                else:
                    stack.append((path, f"{rel}/", depth + 1))
                continue
            if not name.endswith(".json"):
                if depth and name in _METADATA_NAMES:
                    continue  # an LMS's own note beside the student's file, not handed in
                rejected.append(
                    Rejected(
                        shown,
                        f"{shown}: not a *.json file; skipped (a submission is a NAME.json file)",
                    )  # fmt: skip
                )
                continue
            problem = _link_problem(path, real_root)
            if problem:
                rejected.append(Rejected(shown, f"{shown}: {problem}"))
                continue
            out.append((path, shown))
    return sorted(out, key=lambda c: c[1])


# Files that bulk downloads put beside each student's upload.
_METADATA_NAMES = frozenset({"submission_metadata.yml", "submission_metadata.json"})


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def load_submissions(
    folder: str | os.PathLike, *, check: Callable[[Submission], str | None] | None = None
) -> tuple[list[Submission], list[Rejected]]:
    """Every ``*.json`` under ``folder``: the submissions to grade, and the files not graded.

    Folders are read to :data:`MAX_FOLDER_DEPTH` levels, so Gradescope's and Moodle's bulk
    downloads (one folder per student) grade as they come. Every other entry is rejected with
    its reason, so that nothing a student handed in disappears silently. A student with several
    files is graded from the highest ``attempt``, then the newest file (then the last name):
    the others are listed as replaced (``Rejected.replaced_by``). ``check`` (optional) returns
    why a parsed submission must be rejected, or None to accept it (the CLI checks paper ids
    with :func:`simlib.quiz.paper.paper_check`).
    """
    root = Path(folder)
    if not root.is_dir():
        raise SubmissionError(
            f"submissions folder {printable(str(root))} does not exist; pass a folder of *.json "
            "files"
        )
    try:
        os.listdir(root)
    except OSError as exc:
        raise SubmissionError(
            f"submissions folder {printable(str(root))} cannot be listed ({exc.strerror})"
        ) from None
    rejected: list[Rejected] = []
    by_student: dict[str, list[tuple[tuple[int, int, str], Submission, str]]] = {}
    for path, shown in _candidates(root, rejected):
        try:
            sub = parse_submission(_read(path, shown), shown)
        except SubmissionError as exc:
            rejected.append(Rejected(shown, str(exc)))
            continue
        why = check(sub) if check is not None else None
        if why:
            rejected.append(Rejected(shown, f"{shown}: {why}; skipped"))
            continue
        rank = (sub.attempt, _mtime_ns(path), shown)
        by_student.setdefault(sub.student, []).append((rank, sub, shown))
    good: list[Submission] = []
    for student in sorted(by_student):
        ranked = sorted(by_student[student], key=lambda r: r[0])
        (_, best, best_shown) = ranked[-1]
        good.append(best)
        for (attempt, _, _), _, shown in ranked[:-1]:
            why = (
                f"attempt {best.attempt} replaces attempt {attempt}"
                if best.attempt != attempt
                else f"a newer file of attempt {attempt}"
            )
            rejected.append(
                Rejected(
                    shown,
                    f"{shown}: student {student!r}: replaced by {best_shown} ({why}); not graded",
                    replaced_by=best_shown,
                )
            )
    return good, rejected
