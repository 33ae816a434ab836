"""Collecting submissions as classes hand them in: bulk-download folders, re-attempts, exit codes.

Layouts: Moodle's assignment download (one ``Full Name_ID_assignsubmission_file_`` folder per
student) and Gradescope's export (one ``submission_ID`` folder per upload, with the platform's
``submission_metadata.yml`` beside the file).
"""

from __future__ import annotations

import json
import os

from simlib.cli import main
from simlib.quiz import load_bank
from simlib.quiz.order import presented
from simlib.quiz.submissions import MAX_FOLDER_DEPTH, load_submissions
from simlib.quiz.variants import DEFAULT_COURSE

BANK = load_bank("zero")
CHOICE = next(i for i in BANK.items if i.type == "single")


def _write(path, student, attempt=0, right=False, age_s=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    answers = {}
    if right:
        answers[CHOICE.id] = presented(CHOICE, student=student, course=DEFAULT_COURSE,
                                       attempt=attempt).answer  # fmt: skip
    path.write_text(json.dumps({"student": student, "attempt": attempt, "answers": answers}))
    if age_s:
        t = path.stat().st_mtime - age_s
        os.utime(path, (t, t))


def test_moodle_and_gradescope_layouts_grade_as_they_come(tmp_path):
    moodle = tmp_path / "moodle"
    _write(moodle / "Ada Lovelace_101_assignsubmission_file_" / "ada.json", "ada", right=True)
    _write(moodle / "Bo Babbage_102_assignsubmission_file_" / "answers.json", "bo")
    gradescope = tmp_path / "gradescope"
    _write(gradescope / "submission_9001" / "submission.json", "cy", right=True)
    (gradescope / "submission_9001" / "submission_metadata.yml").write_text(":submitters: []\n")
    for folder, students in ((moodle, ["ada", "bo"]), (gradescope, ["cy"])):
        good, rejected = load_submissions(folder)
        assert sorted(s.student for s in good) == students and rejected == []


def test_highest_attempt_then_newest_file_wins_and_the_rest_is_listed(tmp_path):
    folder = tmp_path / "subs"
    _write(folder / "ada-a.json", "ada", attempt=2, right=True, age_s=500)  # best attempt
    _write(folder / "ada-b.json", "ada", attempt=1, right=False)  # newer but lower attempt
    _write(folder / "bo-1.json", "bo", attempt=0, right=False, age_s=100)
    _write(folder / "nested" / "bo-2.json", "bo", attempt=0, right=True)  # same attempt, newer
    good, rejected = load_submissions(folder)
    chosen = {s.student: s.attempt for s in good}
    assert chosen == {"ada": 2, "bo": 0}
    replaced = {r.path: r.replaced_by for r in rejected}
    assert replaced == {"ada-b.json": "ada-a.json", "bo-1.json": "nested/bo-2.json"}
    assert "attempt 2 replaces attempt 1" in next(
        r.reason for r in rejected if r.path == "ada-b.json"
    )
    assert "a newer file of attempt 0" in next(r.reason for r in rejected if r.path == "bo-1.json")


def test_exit_status_1_on_skipped_files_unless_allowed(tmp_path, capsys):
    folder = tmp_path / "subs"
    _write(folder / "ada.json", "ada", right=True)
    _write(folder / "ada-old.json", "ada", age_s=60)  # replaced: not an error
    argv = ["quiz", "grade", "--bank", "zero", "--submissions", str(folder), "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rejected"] == [] and summary["replaced"][0]["file"] == "ada-old.json"
    (folder / "notes.txt").write_text("hello")
    assert main(argv) == 1
    capsys.readouterr()
    assert main([*argv, "--allow-skipped"]) == 0
    assert json.loads(capsys.readouterr().out)["rejected"][0]["file"] == "notes.txt"


def test_folders_deeper_than_the_limit_are_reported(tmp_path):
    folder = tmp_path / "subs"
    deep = folder.joinpath(*[f"d{i}" for i in range(MAX_FOLDER_DEPTH + 1)])
    _write(deep / "x.json", "x")
    _write(folder.joinpath(*[f"d{i}" for i in range(MAX_FOLDER_DEPTH)]) / "y.json", "y")
    good, rejected = load_submissions(folder)
    assert [s.student for s in good] == ["y"]
    assert len(rejected) == 1 and "nested over" in rejected[0].reason
