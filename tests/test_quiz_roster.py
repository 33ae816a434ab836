"""One roster reader for keys, printed papers and LMS gradebooks."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from simlib.cli import main
from simlib.quiz.errors import RosterError
from simlib.quiz.roster import parse_roster

CANVAS_EXPORT = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (4521)\n"
    "    Points Possible,,,,,10\n"
    '"Lovelace, Ada",101,S-1,ada,Sec A,\n'
    '"Hopper, Grace",102,S-2,grace,Sec B,7\n'
)


def test_a_canvas_export_gives_ids_and_every_identity():
    roster = parse_roster(CANVAS_EXPORT, "export.csv")
    assert roster.students == ("ada", "grace")
    ada = roster.rows[0]
    assert (ada.name, ada.canvas_id, ada.sis_user_id, ada.sis_login_id, ada.section) == (
        "Lovelace, Ada", "101", "S-1", "ada", "Sec A",
    )  # fmt: skip


def test_identity_columns_by_any_of_their_names():
    roster = parse_roster("Student;Full Name;Email Address\nada;Ada L;ada@uni\n")
    assert (roster.rows[0].name, roster.rows[0].email) == ("Ada L", "ada@uni")


def test_a_repeated_student_counts_once_unless_the_rows_disagree():
    assert parse_roster("student,email\nada,a@x\nada,a@x\n").students == ("ada",)
    with pytest.raises(RosterError, match="row 3: student 'ada' appears twice"):
        parse_roster("student,email\nada,a@x\nada,b@x\n", "r.csv")


def test_the_same_export_prints_papers_with_names_and_grades_for_canvas(tmp_path, capsys):
    roster = tmp_path / "export.csv"
    roster.write_text(CANVAS_EXPORT)
    out = tmp_path / "papers"
    argv = ["quiz", "paper", "zero", "--course", "s3cret", "--roster", str(roster), "--pdf"]
    assert main([*argv, str(out)]) == 0
    capsys.readouterr()
    (ada,) = out.glob("*ada*.pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(ada.read_bytes())).pages)
    assert "Lovelace, Ada" in text
    key = tmp_path / "key.csv"
    assert main(["quiz", "key", "zero", "--course", "s3cret", "--roster", str(roster),
                 "--out", str(key)]) == 0  # fmt: skip
    assert {line.split(",")[0] for line in key.read_text().splitlines()[1:]} == {"ada", "grace"}


def test_a_fifo_or_a_folder_is_refused_not_read(tmp_path):
    import os

    from simlib.quiz.roster import read_roster

    os.mkfifo(tmp_path / "pipe.csv")  # reading it would block for ever
    for target in (tmp_path / "pipe.csv", tmp_path):
        with pytest.raises(RosterError, match="no such roster file"):
            read_roster(target)


def test_overrides_refuse_a_duplicate_key(tmp_path):
    from simlib.quiz import load_bank
    from simlib.quiz.overrides import OverrideError, load_overrides

    path = tmp_path / "ov.yaml"
    path.write_text("items: []\nitems: []\n")
    with pytest.raises(OverrideError, match="appears twice"):
        load_overrides(path, load_bank("zero"))
