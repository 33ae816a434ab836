"""A Gradescope autograder for one bank: build the zip a teacher uploads, grade one submission.

Gradescope's autograder specification (gradescope-autograders.readthedocs.io, "Autograder
Specifications" and "Submission Metadata") asks for a zip with ``setup.sh`` (run once, as root,
when the image is built) and ``run_autograder`` (run once per submission, in ``/autograder``).
The zip is unpacked into ``/autograder/source``; the student's upload is in
``/autograder/submission/``; who submitted it is in ``/autograder/submission_metadata.json``
(``users[0].email``, ``.id``, ``.name``); the result goes to ``/autograder/results/results.json``
with a top-level ``score``, ``output``, ``visibility``, ``stdout_visibility`` and ``tests[]``
(``name``, ``score``, ``max_score``, ``output``, ``visibility``, ``status``).

Our zip holds the bank, a small JSON config (course secret, attempt, items, which metadata field
identifies the student, when feedback is shown) and a wheel of the simlib that built it;
``setup.sh`` installs that wheel (the grading install: no JAX, no Jupyter) into
``/autograder/venv``. The student is who Gradescope says submitted, never the ``student`` field
inside the file, so uploading a classmate's file earns nothing of the classmate's. Whatever the
upload is, ``results.json`` is written: a malformed file scores 0 with one line that says why.

The zip holds the course secret: it is the teacher's, uploaded to Gradescope, never handed out.

Example:
    >>> sorted(VISIBILITIES)
    ['after_due_date', 'after_published', 'hidden', 'visible']
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import sys
import traceback
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from simlib.quiz.bank import parse_bank
from simlib.quiz.errors import QuizError, SubmissionError
from simlib.quiz.grading import grade_submission
from simlib.quiz.storage import write_bytes_atomic
from simlib.quiz.submissions import MAX_SUBMISSION_BYTES, STUDENT_PATTERN, parse_submission

__all__ = [
    "CONFIG_NAME",
    "IDENTITIES",
    "VISIBILITIES",
    "AutograderConfig",
    "build_autograder",
    "grade_in_root",
]

CONFIG_NAME = "simlib_autograder.json"
BANK_NAME = "bank.yaml"
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
IDENTITIES = ("email", "sid", "id")
DISTRIBUTION = "simlib-course"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# simlib needs Python >= 3.11: pick Gradescope's Ubuntu 24.04 base image.
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
if command -v apt-get >/dev/null; then
  apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else
  "simlib needs Python >= 3.11; choose the Ubuntu 24.04 base image")'
python3 -m venv "$root/venv"
"$root/venv/bin/pip" install --quiet "$root"/source/simlib_course-*.whl
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this once per submission, in /autograder: it grades the upload in
# submission/ as the student named in submission_metadata.json and writes results/results.json.
root="${AUTOGRADER_ROOT:-/autograder}"
exec "$root/venv/bin/python" -m simlib.quiz.autograder "$root"
"""


@dataclass(frozen=True)
class AutograderConfig:
    """What the autograder needs besides the bank: the secret and how to report."""

    course: str
    attempt: int = 0
    items: tuple[str, ...] | None = None
    identity: str = "email"
    visibility: str = "after_due_date"

    def __post_init__(self):
        if self.identity not in IDENTITIES:
            raise QuizError(f"identity {self.identity!r} is not one of {list(IDENTITIES)}")
        if self.visibility not in VISIBILITIES:
            raise QuizError(f"visibility {self.visibility!r} is not one of {list(VISIBILITIES)}")
        if not isinstance(self.attempt, int) or not 0 <= self.attempt <= 10_000:
            raise QuizError(f"attempt {self.attempt!r} must be a whole number 0..10000")


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def wheel_of_installed() -> tuple[str, bytes]:
    """A pure-Python wheel (PEP 427) of the simlib that is running: its package files + metadata.

    Built from the installed package, so it works from a wheel install and an editable one
    alike; the wheel's metadata is the installed distribution's own.
    """
    import simlib

    dist = metadata.distribution(DISTRIBUTION)
    version = dist.version
    package = Path(simlib.__file__).resolve().parent
    info = f"simlib_course-{version}.dist-info"
    files: list[tuple[str, bytes]] = []
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append(("simlib/" + path.relative_to(package).as_posix(), path.read_bytes()))
    files.append((f"{info}/METADATA", (dist.read_text("METADATA") or "").encode()))
    files.append(
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: simlib\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    files.append((f"{info}/entry_points.txt", b"[console_scripts]\nsimlib = simlib.cli:main\n"))
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files)
    record += f"{info}/RECORD,,\n"
    files.append((f"{info}/RECORD", record.encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return f"simlib_course-{version}-py3-none-any.whl", buffer.getvalue()


def _entry(zf: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_autograder(bank_text: str, source: str, config: AutograderConfig, out: Path) -> Path:
    """Write the Gradescope autograder zip for the bank whose YAML is ``bank_text``."""
    bank = parse_bank(bank_text, source)
    for item_id in config.items or ():
        bank.item(item_id)
    wheel_name, wheel = wheel_of_installed()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        _entry(zf, "setup.sh", SETUP_SH.encode(), 0o755)
        _entry(zf, "run_autograder", RUN_AUTOGRADER.encode(), 0o755)
        _entry(zf, BANK_NAME, bank_text.encode())
        _entry(zf, CONFIG_NAME, json.dumps(asdict(config), indent=2).encode())
        _entry(zf, wheel_name, wheel)
    return write_bytes_atomic(out, buffer.getvalue())


def _identity(root: Path, field: str) -> tuple[str | None, str]:
    """The submitter's id from Gradescope's metadata, or None and why not."""
    path = root / "submission_metadata.json"
    try:
        users = json.loads(path.read_text(encoding="utf-8"))["users"]
        value = str(users[0][field] or "").strip()
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        return None, f"{path}: no users[0].{field} ({type(exc).__name__}); ask the teacher"
    if not re.match(STUDENT_PATTERN, value):
        return None, f"{path}: users[0].{field} {value[:40]!r} is not a usable student id"
    return value, ""


def _upload(root: Path) -> tuple[bytes | None, str]:
    folder = root / "submission"
    files = sorted(p for p in folder.rglob("*.json") if p.is_file()) if folder.is_dir() else []
    if not files:
        return None, "No .json file was uploaded: upload the submission file of your paper."
    chosen = next((p for p in files if p.name == "submission.json"), files[0])
    if len(files) > 1 and chosen.name != "submission.json":
        return None, (
            f"{len(files)} .json files were uploaded ({', '.join(p.name for p in files[:5])}); "
            "upload one, or name it submission.json."
        )
    if chosen.stat().st_size > MAX_SUBMISSION_BYTES:
        return (
            None,
            f"{chosen.name} is over {MAX_SUBMISSION_BYTES} bytes: upload your answers only.",
        )
    return chosen.read_bytes(), chosen.name


def _failure(message: str, max_score: float) -> dict:
    """A zero score that tells the student, visibly and at once, why nothing was graded."""
    return {
        "score": 0.0,
        "output": message,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": "Submission read",
                "score": 0.0,
                "max_score": max_score,
                "status": "failed",
                "output": message,
                "visibility": "visible",
            }
        ],
    }


def results_for(root: Path) -> dict:
    """Gradescope's ``results.json`` object for the submission laid out under ``root``."""
    source = root / "source"
    config = AutograderConfig(**json.loads((source / CONFIG_NAME).read_text(encoding="utf-8")))
    bank = parse_bank((source / BANK_NAME).read_text(encoding="utf-8"), BANK_NAME)
    chosen = bank.items if config.items is None else [bank.item(i) for i in config.items]
    max_score = float(sum(item.points for item in chosen))
    student, why = _identity(root, config.identity)
    if student is None:
        return _failure(why, max_score)
    raw, name = _upload(root)
    if raw is None:
        return _failure(name, max_score)
    try:
        submission = parse_submission(raw, name)
    except SubmissionError as exc:
        return _failure(f"Not graded: {exc}", max_score)
    result = grade_submission(
        bank,
        student,
        submission.answers,
        course=config.course,
        attempt=config.attempt,
        items=config.items,
    )
    tests = [
        {
            "name": f"{r.item_id}",
            "score": round(r.score, 6),
            "max_score": r.points,
            "status": "passed" if r.correct else "failed",
            "output": r.feedback,
            "visibility": config.visibility,
        }
        for r in result.items
    ]
    notes = [f"Graded as {student} (from Gradescope), {len(tests)} items."]
    if submission.student != student:
        notes.append(f"The file names {submission.student!r}; that field is not used.")
    if result.unknown_items:
        notes.append(
            f"Answers to unknown items were ignored: {', '.join(result.unknown_items[:10])}."
        )
    return {
        "score": round(result.score, 6),
        "output": " ".join(notes),
        "visibility": config.visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def grade_in_root(root: str | os.PathLike) -> Path:
    """Grade the submission under ``root`` and write ``root/results/results.json``; return it.

    Never raises for a bad upload: the results say what was wrong, with score 0.
    """
    root = Path(root)
    try:
        results = results_for(root)
    except Exception as exc:  # noqa: BLE001 - whatever broke, Gradescope must get results
        traceback.print_exc(file=sys.stdout)  # stdout is the instructor's, hidden from students
        results = _failure(
            f"The autograder could not run ({type(exc).__name__}); tell the teacher.", 0.0
        )
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(out, (json.dumps(results, indent=2) + "\n").encode())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m simlib.quiz.autograder [ROOT]`` (ROOT: ``$AUTOGRADER_ROOT`` or /autograder)."""
    args = list(sys.argv[1:] if argv is None else argv)
    root = args[0] if args else os.environ.get("AUTOGRADER_ROOT", "/autograder")
    path = grade_in_root(root)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
