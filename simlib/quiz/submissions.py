"""Students' submissions: ``{"student": ID, "answers": {ITEM_ID: ANSWER}}`` as JSON files.

An answer is an option letter (``"B"``), letters for a multiple choice (``["A", "C"]`` or
``"AC"``), a number (``12.5`` or ``"12.5"``) or free text. ``"attempt"`` (default 0) picks the
variant of numeric items. ``"paper_id"`` (optional, copied from the paper's submission template)
lets the grader check that the file answers that student's paper under the course secret. A
file that is not such an object, or is larger than ``MAX_SUBMISSION_BYTES``, is reported
(:class:`SubmissionError` naming file and field) and skipped; the rest of the class is still
graded.

Example:
    >>> parse_submission('{"student": "ada", "answers": {"basics-goal": "B"}}').student
    'ada'
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from simlib.quiz.errors import SubmissionError

__all__ = [
    "MAX_SUBMISSION_BYTES",
    "Rejected",
    "Submission",
    "load_submissions",
    "parse_submission",
]

MAX_SUBMISSION_BYTES = 256_000
STUDENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
PAPER_ID_PATTERN = r"^[0-9a-f]{16}$"

Letters = Annotated[list[Annotated[StrictStr, Field(max_length=8)]], Field(max_length=8)]
Answer = (
    Annotated[StrictStr, Field(max_length=20_000)]
    | StrictInt
    | Annotated[StrictFloat, Field(allow_inf_nan=False)]
    | Letters
    | None
)


class Submission(BaseModel):
    """One student's answers to one bank."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    student: Annotated[StrictStr, Field(pattern=STUDENT_PATTERN)]
    answers: Annotated[dict[Annotated[str, Field(max_length=64)], Answer], Field(max_length=500)]
    attempt: Annotated[StrictInt, Field(ge=0, le=10_000)] = 0
    paper_id: Annotated[StrictStr, Field(pattern=PAPER_ID_PATTERN)] | None = None


@dataclass(frozen=True)
class Rejected:
    """A submission file that was not graded, and why."""

    path: str
    reason: str


def _explain(exc: ValidationError, source: str) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:3]:
        field = ".".join(str(p) for p in error["loc"]) or "(top level)"
        parts.append(f"field {field}: {error['msg']}")
    hint = (
        '; fix: write {"student": "ID", "answers": {"ITEM_ID": "B"}} with a student ID of '
        "letters, digits, '.', '_', '@', '+' or '-'"
    )
    return f"{source}: " + " | ".join(parts) + hint


def parse_submission(text: str | bytes, source: str = "<submission>") -> Submission:
    """Validate a submission's JSON text; a bad one raises :class:`SubmissionError`."""
    if len(text) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(
            f"{source}: {len(text)} bytes is over the limit of {MAX_SUBMISSION_BYTES}; "
            "submit shorter answers"
        )
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise SubmissionError(f"{source}: not valid JSON ({exc}); fix the file") from None
    try:
        return Submission.model_validate(data)
    except ValidationError as exc:
        raise SubmissionError(_explain(exc, source)) from None
    except (RecursionError, ValueError, TypeError) as exc:
        raise SubmissionError(f"{source}: cannot be validated ({exc})") from None


def _read(path: Path) -> bytes:
    """The file's bytes, refusing what is not a regular file or is over the size limit.

    The size is checked on what is actually read (at most one byte past the limit), so a
    link to ``/dev/zero`` or a file that grows while it is read cannot exhaust memory.
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise SubmissionError(
                f"{path.name}: not a regular file (a device, pipe or folder?); skipped"
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_SUBMISSION_BYTES + 1)
    except OSError as exc:
        raise SubmissionError(f"{path.name}: cannot be read ({exc.strerror}); skipped") from None
    if len(data) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(
            f"{path.name}: over the limit of {MAX_SUBMISSION_BYTES} bytes; skipped"
        )
    return data


def load_submissions(
    folder: str | os.PathLike, *, check: Callable[[Submission], str | None] | None = None
) -> tuple[list[Submission], list[Rejected]]:
    """Every ``*.json`` in ``folder`` (sorted by name): the valid ones, and the rejected ones.

    A student who appears in two files is graded from the first (by file name); the second
    is rejected, so the result never depends on the order the files were copied in. ``check``
    (optional) returns why a parsed submission must be rejected, or None to accept it (the
    CLI checks paper ids with :func:`simlib.quiz.paper.paper_check`).
    """
    root = Path(folder)
    if not root.is_dir():
        raise SubmissionError(
            f"submissions folder {root} does not exist; pass a folder of *.json files"
        )
    good: list[Submission] = []
    rejected: list[Rejected] = []
    seen: dict[str, str] = {}
    for path in sorted(root.glob("*.json")):
        try:
            sub = parse_submission(_read(path), path.name)
        except SubmissionError as exc:
            rejected.append(Rejected(path.name, str(exc)))
            continue
        except OSError as exc:
            rejected.append(Rejected(path.name, f"{path.name}: cannot be read ({exc.strerror})"))
            continue
        why = check(sub) if check is not None else None
        if why:
            rejected.append(Rejected(path.name, f"{path.name}: {why}; skipped"))
            continue
        if sub.student in seen:
            rejected.append(
                Rejected(
                    path.name,
                    f"{path.name}: student {sub.student!r} already "
                    f"submitted in {seen[sub.student]}; skipped",
                )
            )
            continue
        seen[sub.student] = path.name
        good.append(sub)
    return good, rejected
