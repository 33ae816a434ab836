"""``simlib quiz`` and ``simlib cards``: papers without answers, class grading, terminal use."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from helpers import right_answer

from simlib.cli import main
from simlib.quiz import load_bank, make_variant
from simlib.quiz.schema import ConceptItem, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.submissions import MAX_SUBMISSION_BYTES
from simlib.quiz.variants import format_number


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMLIB_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def run_json(capsys, argv, status: int = 0) -> dict:
    assert main([*argv, "--json"]) == status
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return json.loads(out[0])


def test_list_one_bank_and_all(capsys):
    result = run_json(capsys, ["quiz", "list", "basics"])
    (bank,) = result["banks"]
    goal = next(i for i in bank["items"] if i["id"] == "basics-goal")
    assert goal["type"] == "single" and len(goal["options"]) == 4
    assert "answer" not in goal
    everything = run_json(capsys, ["quiz", "list"])
    assert len(everything["banks"]) >= 9
    assert sum(len(b["items"]) for b in everything["banks"]) >= 47


def _key_forms(key: float) -> set[str]:
    forms = {format_number(key), f"{key:.3g}", f"{key:.4g}", f"{key:.5g}", repr(key)}
    return {f for f in forms if f not in {"0", "1"}}


def _secrets(item, student: str) -> list[str]:
    """Strings that would give the item's answer away."""
    secrets = [item.explanation] if item.explanation else []
    if isinstance(item, SingleChoice | MultipleChoice):
        secrets += [t for t in item.feedback.values() if t]
    if isinstance(item, NumericItem):
        secrets += [m.feedback for m in item.mistakes] + [item.function]
    if isinstance(item, ConceptItem):
        secrets += [item.model_answer] + [c.name for c in item.concepts]
        secrets += [p for c in item.concepts for p in c.phrasings]
    return [s for s in secrets if len(s) > 3]


@pytest.mark.parametrize(
    "bank_name", ["data_parallelism", "zero", "parameter_servers", "synchronisation"]
)
def test_paper_holds_no_answers(tmp_path, capsys, bank_name):
    bank = load_bank(bank_name)
    for student in ("ada", "grace", "alan", "edsger", "barbara"):
        out = tmp_path / f"{student}.json"
        summary = run_json(
            capsys, ["quiz", "paper", bank_name, "--student", student, "--out", str(out)]
        )
        assert summary["items"] == len(bank.items)
        text = out.read_text()
        paper = json.loads(text)
        assert not re.search(r'"(answer|key|correct|explanation|feedback|concepts)"\s*:', text)
        for shown in paper["items"]:
            item = bank.item(shown["id"])
            chunk = json.dumps(shown)
            for secret in _secrets(item, student):
                assert secret not in text, (item.id, secret)
            if isinstance(item, NumericItem):
                variant = make_variant(item, student)
                assert shown["prompt"] == variant.prompt and shown["parameters"] == variant.params
                for form in _key_forms(variant.key):
                    assert not re.search(rf"(?<![\d.]){re.escape(form)}(?!\d|\.\d)", chunk), (
                        item.id,
                        form,
                    )
        assert paper["submission"]["answers"] == {i.id: None for i in bank.items}


def _submissions(folder: Path, bank) -> None:
    folder.mkdir()
    ace = {i.id: right_answer(i, "ace") for i in bank.items}
    (folder / "ace.json").write_text(json.dumps({"student": "ace", "answers": ace}))
    half = {i.id: right_answer(i, "half") for i in bank.items[::2]}
    (folder / "half.json").write_text(json.dumps({"student": "half", "answers": half}))
    (folder / "blank.json").write_text(
        json.dumps({"student": "blank", "answers": {}, "attempt": 2})
    )
    (folder / "broken.json").write_text('{"student": "x", "answers": ')
    (folder / "huge.json").write_text(
        json.dumps({"student": "huge", "answers": {"a": "x" * MAX_SUBMISSION_BYTES}})
    )
    (folder / "badid.json").write_text(json.dumps({"student": "=HYPERLINK()", "answers": {}}))
    (folder / "zz-again.json").write_text(json.dumps({"student": "ace", "answers": {}}))
    older = (folder / "ace.json").stat().st_mtime - 60  # an older, empty file of ace's
    os.utime(folder / "zz-again.json", (older, older))
    (folder / "notes.txt").write_text("not a submission")


def test_grade_a_class_twice_gives_identical_files(tmp_path, capsys):
    bank = load_bank("zero")
    _submissions(tmp_path / "subs", bank)
    outputs = []
    for run in range(2):
        csv_path, gs_path = tmp_path / f"g{run}.csv", tmp_path / f"r{run}.json"
        result = run_json(
            capsys,
            [
                "quiz",
                "grade",
                "--bank",
                "zero",
                "--submissions",
                str(tmp_path / "subs"),
                "--csv",
                str(csv_path),
                "--json-out",
                str(gs_path),
            ],
            status=1,  # some files were skipped; both outputs are still written
        )
        outputs.append((csv_path.read_bytes(), gs_path.read_bytes()))
    assert outputs[0] == outputs[1]
    assert result["graded"] == 3
    assert sorted(r["file"] for r in result["rejected"]) == [
        "badid.json",
        "broken.json",
        "huge.json",
        "notes.txt",
    ]
    assert [(r["file"], r["by"]) for r in result["replaced"]] == [("zz-again.json", "ace.json")]
    rows = outputs[0][0].decode().splitlines()
    assert rows[0].split(",")[:5] == ["student", "attempt", "score", "max_score", "percent"]
    by_student = {r.split(",")[0]: r.split(",") for r in rows[1:]}
    total = sum(i.points for i in bank.items)
    assert float(by_student["ace"][2]) == pytest.approx(total) and by_student["ace"][4] == "100.0"
    assert float(by_student["blank"][2]) == 0 and by_student["blank"][1] == "2"
    assert 0 < float(by_student["half"][2]) < total
    gradescope = json.loads(outputs[0][1])
    assert gradescope["students"]["ace"]["score"] == pytest.approx(total)
    assert len(gradescope["students"]["half"]["tests"]) == len(bank.items)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_link_to_a_device_or_a_pipe_is_skipped_not_read(tmp_path):
    """A *.json that is a link to /dev/zero (size 0, endless) or a FIFO (would block) is
    reported and skipped; the valid submission beside them is graded."""
    import os

    from simlib.quiz import load_submissions

    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "ok.json").write_text(json.dumps({"student": "ok", "answers": {}}))
    (folder / "zero.json").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe.json")
    good, rejected = load_submissions(folder)
    assert [s.student for s in good] == ["ok"]
    assert sorted(Path(r.path).name for r in rejected) == ["pipe.json", "zero.json"]
    reasons = {Path(r.path).name: r.reason for r in rejected}
    assert "not a regular file" in reasons["pipe.json"]
    assert "symlink leading outside the submissions folder" in reasons["zero.json"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["quiz", "list", "nope"], "bank 'nope' not found"),
        (["quiz", "grade", "--bank", "zero", "--submissions", "/no/such/dir"], "does not exist"),
        (
            ["quiz", "paper", "zero", "--student", "a", "--out", "p.json", "--items", "zzz"],
            "has no item 'zzz'",
        ),
        (["cards", "review", "nope"], "deck 'nope' not found"),
        (["quiz", "list", "cards_basics"], "is a flashcard deck"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("simlib: error:") and message in err[0]


def test_take_in_the_terminal(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("b\nC\n"))
    result = run_json(
        capsys, ["quiz", "take", "basics", "--items", "basics-goal,basics-dp-strategy"]
    )
    assert result["score"] == 1.0 and result["max_score"] == 2.0
    assert [i["correct"] for i in result["items"]] == [True, False]
    monkeypatch.setattr("sys.stdin", io.StringIO(":q\n"))
    assert main(["quiz", "take", "basics"]) == 0
    assert "Stopped." in capsys.readouterr().out


def test_cards_review_saves_state_and_export_writes_anki(tmp_path, monkeypatch, capsys, state_dir):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n3\n\nbogus\n1\n:q\n"))
    stats = run_json(capsys, ["cards", "review", "basics", "--limit", "5"])
    assert stats["reviewed_this_session"] == 2 and stats["new"] == len_deck("basics") - 2
    saved = json.loads((state_dir / "cards_basics.json").read_text())
    assert len(saved["cards"]) == 2
    listing = run_json(capsys, ["cards", "list"])
    assert {d["deck"]: d["new"] for d in listing["decks"]}["basics"] == len_deck("basics") - 2
    out = tmp_path / "deck.apkg"
    result = run_json(capsys, ["cards", "export", "parallelism", "--anki", str(out)])
    assert result["cards"] == len_deck("parallelism")
    with zipfile.ZipFile(out) as z:
        z.extract("collection.anki2", tmp_path)
    with sqlite3.connect(tmp_path / "collection.anki2") as db:
        assert db.execute("select count(*) from notes").fetchone()[0] == len_deck("parallelism")


def len_deck(name: str) -> int:
    from simlib.quiz import load_deck

    return len(load_deck(name).cards)


def test_check_validates_every_bank(capsys):
    """Every bank loads and every numeric variant computes; the only failures allowed here are
    the strategy figures (held for the shipped banks in test_quiz_papers_keys)."""
    code = main(["quiz", "check", "--students", "3", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == (0 if result["ok"] else 1)
    assert sum(b["numeric"] for b in result["banks"]) >= 15
    assert all("figure), over 35%" in f for f in result["failures"])
