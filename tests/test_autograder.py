"""The Gradescope autograder, round trip: build the zip, lay it out as Gradescope does, run it.

The zip's own wheel is installed by a real installer (pip) into a fresh environment with only the
grading requirements; ``run_autograder`` then runs as Gradescope runs it, and ``results.json`` is
validated against a JSON Schema written from Gradescope's published specification.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from install_helpers import offline_env

from simlib.cli.quiz_classroom import FEEDBACK_CHOICES, IDENTITY_CHOICES
from simlib.quiz import grade_submission, make_variant, parse_bank
from simlib.quiz.autograder import IDENTITIES, VISIBILITIES

DATA = Path(__file__).parent / "data"
SCHEMA = json.loads((DATA / "gradescope_results.schema.json").read_text())
SECRET = "autograder-test-secret"

BANK = """
topic: ag
title: Autograder test bank
items:
  - id: ag-single
    type: single
    prompt: Which one?
    options: [first option, second option, third option, fourth option]
    answer: C
  - id: ag-multiple
    type: multiple
    points: 2
    prompt: Which ones?
    options: [alpha choice, beta choice, gamma choice, delta choice]
    answer: [A, D]
  - id: ag-ring
    type: numeric
    points: 3
    prompt: "A ring all-reduce of {size_mb} MB over {ranks} GPUs at {bw_gbs} GB/s: seconds?"
    function: allreduce_cost
    field: seconds
    params:
      ranks: {values: [4, 8, 16, 32]}
      size_mb: {min: 100, max: 2000, step: 100}
      bw_gbs: {values: [10, 25, 50, 100]}
    args:
      algorithm: ring
      ranks: {param: ranks}
      nbytes: {param: size_mb, scale: 1.0e6}
      bandwidth_bytes_per_s: {param: bw_gbs, scale: 1.0e9}
    tolerance: {relative: 0.01}
"""


def _bank():
    return parse_bank(BANK, "ag.yaml")


def _correct_answers(student: str) -> dict:
    """The answers that earn full marks for ``student``, found through the public grader."""
    bank, answers = _bank(), {}
    for item in bank.items:
        if item.type == "numeric":
            answers[item.id] = make_variant(item, student, course=SECRET).key
            continue
        letters = "ABCD"
        candidates = (
            list(letters)
            if item.type == "single"
            else [[a, b] for i, a in enumerate(letters) for b in letters[i + 1 :]]
        )
        for guess in candidates:
            got = grade_submission(bank, student, {item.id: guess}, course=SECRET)
            if got.score == item.points:
                answers[item.id] = guess
    return answers


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """An unpacked autograder with its wheel installed offline, as setup.sh would."""
    base = tmp_path_factory.mktemp("autograder")
    bank_file = base / "ag.yaml"
    bank_file.write_text(BANK)
    zip_path = base / "autograder.zip"
    run = subprocess.run(
        [sys.executable, "-m", "simlib", "quiz", "autograder", str(bank_file),
         "--course", SECRET, "--out", str(zip_path), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder"} <= set(names)  # at the root, as Gradescope needs
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
        zf.extractall(base / "source")
    (wheel,) = (base / "source").glob("simlib_course-*.whl")
    python, _, _ = offline_env(wheel, base / "venv")
    assert python == base / "venv" / "bin" / "python"  # where run_autograder looks
    return base


def _submit(root: Path, upload: dict | bytes | None, email: str, tmp_path: Path) -> dict:
    """Lay out one Gradescope submission under a copy of ``root``; run; return results.json."""
    case = tmp_path / "autograder"
    case.mkdir(parents=True)
    (case / "source").symlink_to(root / "source")
    (case / "venv").symlink_to(root / "venv")
    (case / "submission").mkdir()
    if upload is not None:
        data = upload if isinstance(upload, bytes) else json.dumps(upload).encode()
        (case / "submission" / "submission.json").write_bytes(data)
    meta = {"id": 1, "users": [{"email": email, "id": 77, "name": "A Student"}],
            "assignment": {"title": "ag", "total_points": "6.0"}}  # fmt: skip
    (case / "submission_metadata.json").write_text(json.dumps(meta))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["AUTOGRADER_ROOT"] = str(case)
    run = subprocess.run(
        ["bash", str(case / "source" / "run_autograder")], cwd=case, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    results = json.loads((case / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    return results


def test_vocabularies_match_the_cli():
    assert IDENTITY_CHOICES == IDENTITIES and FEEDBACK_CHOICES == VISIBILITIES


def test_schema_rejects_what_gradescope_would(tmp_path):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"students": []}, SCHEMA)  # the old class-wide file
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"score": 1, "tests": [{"score": 1, "visibility": "soon"}]}, SCHEMA)


def test_correct_submission_scores_full_marks(autograder, tmp_path):
    ada = "ada@example.edu"
    results = _submit(autograder, {"student": ada, "answers": _correct_answers(ada)}, ada,
                      tmp_path)  # fmt: skip
    assert results["score"] == 6.0
    assert [t["score"] for t in results["tests"]] == [1.0, 2.0, 3.0]
    assert [t["max_score"] for t in results["tests"]] == [1.0, 2.0, 3.0]
    assert all(t["status"] == "passed" for t in results["tests"])
    assert {t["visibility"] for t in results["tests"]} == {"after_due_date"}
    assert SECRET not in json.dumps(results)


def test_partly_correct_submission(autograder, tmp_path):
    ada = "ada@example.edu"
    answers = _correct_answers(ada)
    answers["ag-ring"] = answers["ag-ring"] * 3  # wrong number
    results = _submit(autograder, {"student": ada, "answers": answers}, ada, tmp_path)
    assert results["score"] == 3.0
    assert [t["status"] for t in results["tests"]] == ["passed", "passed", "failed"]


def test_empty_and_malformed_submissions_score_zero_with_a_reason(autograder, tmp_path):
    empty = _submit(autograder, {"student": "x", "answers": {}}, "ada@example.edu",
                    tmp_path / "e")  # fmt: skip
    assert empty["score"] == 0.0 and len(empty["tests"]) == 3
    broken = _submit(autograder, b"{not json", "ada@example.edu", tmp_path / "b")
    assert broken["score"] == 0.0 and "submission.json" in broken["output"]
    assert broken["visibility"] == "visible"  # a student must learn at once what to fix
    nothing = _submit(autograder, None, "ada@example.edu", tmp_path / "n")
    assert nothing["score"] == 0.0 and "No .json file" in nothing["output"]


def test_identity_comes_from_gradescope_not_from_the_file(autograder, tmp_path):
    ada, bob = "ada@example.edu", "bob@example.edu"
    ada_answers, bob_answers = _correct_answers(ada), _correct_answers(bob)
    assert ada_answers["ag-ring"] != bob_answers["ag-ring"]  # their variants differ
    # Bob uploads Ada's file, which says "student": ada: he is graded as Bob.
    results = _submit(autograder, {"student": ada, "answers": ada_answers}, bob, tmp_path)
    assert results["score"] < 6.0
    assert results["tests"][2]["status"] == "failed"
    assert "Graded as bob@example.edu" in results["output"]
    assert "'ada@example.edu'" in results["output"]


def test_setup_script_installs_the_zipped_wheel(autograder):
    setup = (autograder / "source" / "setup.sh").read_text()
    assert "simlib_course-*.whl" in setup and "$root/venv" in setup
    assert shutil.which("bash")
    syntax = subprocess.run(["bash", "-n", str(autograder / "source" / "setup.sh")])
    assert syntax.returncode == 0
