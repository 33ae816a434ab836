"""Gradebook CSVs for Canvas and Moodle, read back with the csv module for a small class.

Ada answers every choice item of the basics bank correctly (her score is the sum of those
items' points), Bob only the first item, Cy is graded but not on the roster, Dee is on the
roster but handed nothing in.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from simlib.cli import main
from simlib.quiz import load_bank
from simlib.quiz.order import presented
from simlib.quiz.variants import DEFAULT_COURSE

ROSTER = (
    "student,name,canvas_id,sis_user_id,sis_login_id,section,email,username\n"
    "ada,Ada Lovelace,101,S-1,ada@uni,Sec A,ada@uni.example,alovelace\n"
    "bob,Bob Babbage,102,S-2,bob@uni,Sec B,bob@uni.example,bbabbage\n"
    "dee,Dee Dee,103,S-3,dee@uni,Sec A,dee@uni.example,ddee\n"
)


def _right(item, student):
    """The key as ``student``'s paper shows it (their option order, public course name)."""
    seen = presented(item, student=student, course=DEFAULT_COURSE)
    return seen.answer if item.type == "single" else list(seen.answer)


@pytest.fixture
def klass(tmp_path):
    bank = load_bank("basics")
    choice = [i for i in bank.items if i.type in ("single", "multiple")]
    subs = tmp_path / "subs"
    subs.mkdir()
    answers = {
        "ada": {i.id: _right(i, "ada") for i in choice},
        "bob": {choice[0].id: _right(choice[0], "bob")},
        "cy": {},
    }
    for student, given in answers.items():
        (subs / f"{student}.json").write_text(json.dumps({"student": student, "answers": given}))
    (tmp_path / "roster.csv").write_text(ROSTER)
    return {
        "bank": bank,
        "subs": subs,
        "roster": tmp_path / "roster.csv",
        "ada": sum(i.points for i in choice),
        "bob": choice[0].points,
        "max": sum(i.points for i in bank.items),
    }


def _grade(klass, tmp_path, capsys, fmt, *extra):
    out = tmp_path / f"{fmt}.csv"
    args = ["quiz", "grade", "--bank", "basics", "--submissions", str(klass["subs"])]
    args += ["--csv", str(out), "--csv-format", fmt, "--roster", str(klass["roster"]), *extra]
    rc = main([*args, "--json"])
    captured = capsys.readouterr()
    return rc, list(csv.reader(io.StringIO(out.read_text()))), json.loads(captured.out), captured


def test_canvas_columns_points_possible_and_grades(klass, tmp_path, capsys):
    rc, rows, result, captured = _grade(
        klass, tmp_path, capsys, "canvas", "--assignment", "Quiz 1 (4521)"
    )
    assert rc == 0
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Quiz 1 (4521)"],
        ["Points Possible", "", "", "", "", f"{klass['max']:g}"],
        ["Ada Lovelace", "101", "S-1", "ada@uni", "Sec A", f"{klass['ada']:g}"],
        ["Bob Babbage", "102", "S-2", "bob@uni", "Sec B", f"{klass['bob']:g}"],
        ["Dee Dee", "103", "S-3", "dee@uni", "Sec A", ""],
    ]
    assert float(rows[2][5]) == klass["ada"] > float(rows[3][5]) == klass["bob"] > 0
    assert result["not_in_roster"] == ["cy"] and result["no_submission"] == ["dee"]
    assert "cy was graded but is not in" in captured.err
    assert "dee is in" in captured.err and "has no submission" in captured.err


def test_moodle_email_identifier_and_one_grade_column(klass, tmp_path, capsys):
    rc, rows, result, _ = _grade(klass, tmp_path, capsys, "moodle")
    assert rc == 0
    title = klass["bank"].title
    assert rows == [
        ["Email address", title],
        ["ada@uni.example", f"{klass['ada']:g}"],
        ["bob@uni.example", f"{klass['bob']:g}"],
        ["dee@uni.example", ""],
    ]
    assert result["not_in_roster"] == ["cy"] and result["no_submission"] == ["dee"]


def test_moodle_falls_back_to_username(klass, tmp_path, capsys):
    klass["roster"].write_text("student,username\nada,alovelace\nbob,bbabbage\ncy,cyril\n")
    rc, rows, result, _ = _grade(klass, tmp_path, capsys, "moodle", "--assignment", "Quiz 1")
    assert rc == 0
    assert rows[0] == ["Username", "Quiz 1"]
    assert rows[1:] == [
        ["alovelace", f"{klass['ada']:g}"],
        ["bbabbage", f"{klass['bob']:g}"],
        ["cyril", "0"],
    ]
    assert result["not_in_roster"] == [] and result["no_submission"] == []


def test_simlib_format_unchanged_and_roster_optional(klass, tmp_path, capsys):
    out = tmp_path / "g.csv"
    rc = main(
        [
            "quiz",
            "grade",
            "--bank",
            "basics",
            "--submissions",
            str(klass["subs"]),
            "--csv",
            str(out),
        ]
    )
    assert rc == 0
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0][:5] == ["student", "attempt", "score", "max_score", "percent"]
    assert [r[0] for r in rows[1:]] == ["ada", "bob", "cy"]


@pytest.mark.parametrize(
    "roster,fmt,message",
    [
        (None, "canvas", "--csv-format canvas needs --roster"),
        ("student,name\nada,Ada\n", "canvas", "student 'ada' has none of canvas_id"),
        ("student,canvas_id\nada,7\n", "canvas", "student 'ada' has no 'name'"),
        ("name,canvas_id\nAda,1\n", "canvas", "no column of student ids"),
        ("student,nickname\nada,A\n", "moodle", "student 'ada' has no 'username'"),
        ("student,email\nada,a@x\nada,b@x\n", "moodle", "row 3: student 'ada' appears twice"),
        ("student,email\nada,a@x\nbob,\n", "moodle", "student 'bob' has no 'email'"),
    ],
)
def test_bad_roster_is_one_line_exit_2(klass, tmp_path, capsys, roster, fmt, message):
    out = tmp_path / "g.csv"
    args = ["quiz", "grade", "--bank", "basics", "--submissions", str(klass["subs"])]
    args += ["--csv", str(out), "--csv-format", fmt]
    if roster is not None:
        (tmp_path / "r.csv").write_text(roster)
        args += ["--roster", str(tmp_path / "r.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_bad_roster_writes_no_file_and_lms_flags_need_csv(klass, tmp_path, capsys):
    (tmp_path / "r.csv").write_text("student,name\nada,Ada\n")
    gs = tmp_path / "gs.json"
    args = ["quiz", "grade", "--bank", "basics", "--submissions", str(klass["subs"])]
    assert (
        main(
            [
                *args,
                "--csv",
                str(tmp_path / "c.csv"),
                "--csv-format",
                "canvas",
                "--roster",
                str(tmp_path / "r.csv"),
                "--json-out",
                str(gs),
            ]
        )
        == 2
    )
    assert not gs.exists() and not (tmp_path / "c.csv").exists()
    assert main([*args, "--csv-format", "moodle"]) == 2
    assert "add --csv FILE" in capsys.readouterr().err


def test_canvas_matches_by_sis_login_when_there_is_no_canvas_id(klass, tmp_path, capsys):
    klass["roster"].write_text("student,name,sis_login_id\nada,Ada L,ada@uni\nbob,Bob B,bob@uni\n")
    rc, rows, result, _ = _grade(klass, tmp_path, capsys, "canvas")
    assert rc == 0
    assert rows[0][-1] == klass["bank"].title
    assert rows[2:] == [
        ["Ada L", "", "", "ada@uni", "", f"{klass['ada']:g}"],
        ["Bob B", "", "", "bob@uni", "", f"{klass['bob']:g}"],
    ]
    assert result["not_in_roster"] == ["cy"] and result["no_submission"] == []
