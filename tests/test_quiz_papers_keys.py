"""Per-student papers, the teacher's key, private banks and the strategy figures of quiz check.

A teacher writes papers with a course secret; each student sees the choice options in their own
order and numbers of their own variant; `quiz key` recomputes every student's answers; grading
maps each student's letters back through their own order. The secret itself appears nowhere a
student can read it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlib.cli import main
from simlib.quiz import bank_names, grade_submission, load_bank, make_variant, parse_submission
from simlib.quiz.errors import RosterError
from simlib.quiz.fairness import MAX_STRATEGY_SHARE, strategy_scores
from simlib.quiz.grading import grade_answer, grade_as_seen
from simlib.quiz.key import accepted_range, answer_key
from simlib.quiz.order import option_order, presented
from simlib.quiz.paper import build_paper
from simlib.quiz.roster import parse_roster
from simlib.quiz.schema import ConceptItem, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.submissions import STUDENT_PATTERN

SECRET = "Zq7-teacher-only-4fP"
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cli(capsys, argv) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_json(capsys, argv) -> dict:
    code, out, err = cli(capsys, [*argv, "--json"])
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, lines
    return json.loads(lines[0])


def _choice(bank):
    return [i for i in bank.items if isinstance(i, SingleChoice | MultipleChoice)]


# --- option order per student ---------------------------------------------------------------


def test_two_students_papers_differ_in_option_order_for_most_choice_items():
    differ = total = 0
    for name in bank_names():
        bank = load_bank(name)
        ada = {q["id"]: q for q in build_paper(bank, "ada", course=SECRET)["items"]}
        bob = {q["id"]: q for q in build_paper(bank, "bob", course=SECRET)["items"]}
        for item in _choice(bank):
            texts = [[o["text"] for o in p[item.id]["options"]] for p in (ada, bob)]
            # Same options, each paper in its own order.
            assert sorted(texts[0]) == sorted(texts[1]) == sorted(item.options)
            differ += texts[0] != texts[1]
            total += 1
    assert total >= 40 and differ >= 0.8 * total, (differ, total)


def test_self_study_keeps_the_authored_order():
    item = load_bank("basics").item("basics-goal")
    assert presented(item, student=None, course=SECRET) is item
    for letter in "ABCD":
        assert (
            grade_as_seen(item, letter, student=None, course=SECRET).score
            == grade_answer(item, letter).score
        )


def test_feedback_speaks_in_the_students_letters():
    bank = load_bank("synchronisation")
    for item in _choice(bank):
        if not isinstance(item, SingleChoice):
            continue
        mine = presented(item, student="ada", course=SECRET)
        wrong = next(x for x in "ABCD"[: len(item.options)] if x != mine.answer)
        graded = grade_submission(bank, "ada", {item.id: wrong}, course=SECRET, items=(item.id,))
        (result,) = graded.items
        assert f"you chose {wrong}; the answer is {mine.answer}." in result.feedback
        assert result.details["authored_answer"] == item.answer
        order = option_order(item.id, len(item.options), student="ada", course=SECRET)
        assert result.details["authored_chosen"] == "ABCD"[order["ABCD".index(wrong)]]


# --- the whole path: papers, key, submissions, grades ------------------------------------------


def _answers_from_key(key: dict, student: str, bank) -> dict:
    out = {}
    for item in bank.items:
        entry = key["students"][student]["items"][item.id]
        out[item.id] = item.model_answer if isinstance(item, ConceptItem) else entry["answer"]
    return out


def _write_subs(folder: Path, papers: dict, answers: dict) -> None:
    folder.mkdir()
    for student, paper in papers.items():
        sub = dict(paper["submission"])
        sub["answers"] = answers[student]
        (folder / f"{student}.json").write_text(json.dumps(sub))


def _grade(capsys, tmp_path, folder: Path, bank: str, course: str = SECRET) -> dict:
    out = tmp_path / f"{folder.name}-gs.json"
    argv = ["quiz", "grade", "--bank", bank, "--submissions", str(folder)]
    code, stdout, err = cli(capsys, [*argv, "--course", course, "--json-out", str(out), "--json"])
    summary = json.loads(stdout)
    assert code == (1 if summary["rejected"] else 0), err  # 1: some file was skipped
    return {"summary": summary, "gradescope": json.loads(out.read_text())}


@pytest.mark.parametrize("bank_name", ["data_parallelism", "synchronisation"])
def test_each_paper_grades_through_its_own_order(tmp_path, capsys, bank_name):
    bank = load_bank(bank_name)
    students = ["ada", "bob"]
    papers = {}
    for s in students:
        out = tmp_path / f"paper-{s}.json"
        cli_json(capsys, ["quiz", "paper", bank_name, "--student", s, "--course", SECRET]
                 + ["--out", str(out)])  # fmt: skip
        papers[s] = json.loads(out.read_text())
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nada\nbob\n")
    key_path = tmp_path / "key.json"
    cli_json(capsys, ["quiz", "key", bank_name, "--course", SECRET, "--roster", str(roster)]
             + ["--out", str(key_path)])  # fmt: skip
    key = json.loads(key_path.read_text())
    for s in students:
        assert key["students"][s]["paper_id"] == papers[s]["paper_id"]

    own = {s: _answers_from_key(key, s, bank) for s in students}
    _write_subs(tmp_path / "own", papers, own)
    graded = _grade(capsys, tmp_path, tmp_path / "own", bank_name)
    assert graded["summary"]["graded"] == 2 and graded["summary"]["rejected"] == []
    keyed = {i.id for i in bank.items if not isinstance(i, ConceptItem)}
    for s in students:
        tests = {t["name"]: t for t in graded["gradescope"]["students"][s]["tests"]}
        for item_id in keyed:
            assert tests[item_id]["score"] == tests[item_id]["max_score"], (s, item_id)

    # Each student answers with the other's key: letters (and numbers) no longer fit.
    swapped = {"ada": own["bob"], "bob": own["ada"]}
    _write_subs(tmp_path / "swapped", papers, swapped)
    other = _grade(capsys, tmp_path, tmp_path / "swapped", bank_name)
    choice_points = sum(i.points for i in _choice(bank))
    for s in students:
        tests = {t["name"]: t for t in other["gradescope"]["students"][s]["tests"]}
        got = sum(tests[i.id]["score"] for i in _choice(bank))
        assert got < choice_points - 1e-9, (s, got)
        assert (
            other["gradescope"]["students"][s]["score"]
            < graded["gradescope"]["students"][s]["score"]
        )


def test_the_key_grades_full_marks_on_every_bank_for_every_student():
    students = ["ada", "b.o.b", "c+3@x.org"]
    for name in bank_names():
        bank = load_bank(name)
        keyed = [i for i in bank.items if not isinstance(i, ConceptItem)]
        rows = answer_key(bank, students, course=SECRET, items=[i.id for i in keyed])
        for s in students:
            answers = {r.item: r.answer for r in rows if r.student == s}
            graded = grade_submission(
                bank, s, answers, course=SECRET, items=tuple(i.id for i in keyed)
            )
            assert graded.score == pytest.approx(graded.max_score), (name, s)
            # The same answers under another secret fit no longer.
            if any(not isinstance(i, NumericItem) for i in keyed):
                other = grade_submission(
                    bank, s, answers, course="guess", items=tuple(i.id for i in keyed)
                )
                assert other.score < graded.max_score, (name, s)


def test_the_wrong_secret_or_an_edited_student_is_rejected(tmp_path, capsys):
    bank = load_bank("zero")
    paper = build_paper(bank, "ada", course=SECRET)
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "ada.json").write_text(json.dumps(paper["submission"]))
    forged = {**paper["submission"], "student": "bob"}
    (folder / "bob.json").write_text(json.dumps(forged))
    graded = _grade(capsys, tmp_path, folder, "zero")
    assert graded["summary"]["graded"] == 1
    (reject,) = graded["summary"]["rejected"]
    assert reject["file"] == "bob.json" and "field paper_id" in reject["reason"]
    wrong = _grade(capsys, tmp_path, folder, "zero", course="not-the-secret")
    assert wrong["summary"]["graded"] == 0 and len(wrong["summary"]["rejected"]) == 2


def test_submission_template_is_a_valid_submission():
    paper = build_paper(load_bank("zero"), "ada", course=SECRET)
    sub = parse_submission(json.dumps(paper["submission"]))
    assert sub.student == "ada" and sub.paper_id == paper["paper_id"]


# --- the secret stays with the teacher --------------------------------------------------------


def test_the_secret_appears_in_no_student_facing_bytes(tmp_path, capsys, monkeypatch):
    seen: list[tuple[str, bytes]] = []
    for name in bank_names():
        bank = load_bank(name)
        out = tmp_path / f"{name}.json"
        code, stdout, stderr = cli(
            capsys,
            ["quiz", "paper", name, "--student", "ada", "--course", SECRET, "--out", str(out)],
        )
        assert code == 0
        seen += [
            (f"paper {name}", out.read_bytes()),
            (f"paper {name} stdio", (stdout + stderr).encode()),
        ]
        paper = json.loads(out.read_text())
        assert "course" not in paper and "course" not in paper["submission"]
        seen.append((f"template {name}", json.dumps(paper["submission"]).encode()))
        code, stdout, stderr = cli(
            capsys,
            [
                "quiz",
                "paper",
                name,
                "--student",
                "ada",
                "--course",
                SECRET,
                "--out",
                str(out),
                "--json",
            ],
        )
        seen.append((f"paper --json {name}", (stdout + stderr).encode()))
        # A student's graded work: every item answered wrongly, so all feedback is shown.
        answers = {i.id: "A" if not isinstance(i, NumericItem) else 1.0 for i in bank.items}
        subs = tmp_path / f"subs-{name}"
        subs.mkdir()
        (subs / "ada.json").write_text(json.dumps({**paper["submission"], "answers": answers}))
        gs, grades = tmp_path / f"gs-{name}.json", tmp_path / f"g-{name}.csv"
        code, stdout, stderr = cli(
            capsys,
            ["quiz", "grade", "--bank", name, "--submissions", str(subs), "--course", SECRET]
            + ["--json-out", str(gs), "--csv", str(grades), "--json"],
        )
        assert code == 0
        seen += [(f"grade {name}", gs.read_bytes() + grades.read_bytes() + stdout.encode())]
    monkeypatch.setattr("sys.stdin", io.StringIO("A\n1\nA\n"))
    code, stdout, stderr = cli(
        capsys, ["quiz", "take", "zero", "--student", "ada", "--course", SECRET]
    )
    seen.append(("take", (stdout + stderr).encode()))
    key = tmp_path / "key.csv"
    code, stdout, stderr = cli(
        capsys, ["quiz", "key", "zero", "--course", SECRET, "--student", "ada", "--out", str(key)]
    )
    assert code == 0
    seen += [("key stdio", (stdout + stderr).encode()), ("key file", key.read_bytes())]
    for where, data in seen:
        assert SECRET.encode() not in data, where
        assert SECRET.lower().encode() not in data.lower(), where


def test_a_student_without_the_secret_cannot_reproduce_a_variant():
    numeric = [i for n in bank_names() for i in load_bank(n).items if isinstance(i, NumericItem)]
    assert len(numeric) >= 15
    guesses = (
        "simlib",
        "",
        "course",
        "Zq7-teacher-only-4fQ",
    )  # public default, blanks, a near miss
    for guess in guesses:
        same = sum(
            make_variant(i, "bob", course=SECRET).params
            == make_variant(i, "bob", course=guess).params
            for i in numeric
        )
        # Items with few possible variants can agree by chance; most must not.
        assert same <= 0.35 * len(numeric), (guess, same)
    # Nor can they reproduce the option orders of another student's paper.
    items = [i for n in bank_names() for i in _choice(load_bank(n))]
    orders = [
        option_order(i.id, len(i.options), student="bob", course=c)
        for c in (SECRET, "simlib")
        for i in items
    ]
    half = len(items)
    assert sum(a != b for a, b in zip(orders[:half], orders[half:], strict=True)) >= 0.6 * half


# --- the key --------------------------------------------------------------------------------


CANVAS = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (123)\n"
    "    Points Possible,,,,,10\n"
    '"Lovelace, Ada",101,u101,ada.lovelace,Sec 1,9\n'
    '"Hopper, Grace",102,u102,ghopper,Sec 1,7\n'
    '"Student, Test",103,,,Sec 1,0\n'
)


def test_key_for_a_roster_csv_and_json(tmp_path, capsys):
    bank = load_bank("data_parallelism")
    roster = tmp_path / "canvas.csv"
    roster.write_text("\ufeff" + CANVAS)
    out = tmp_path / "key.csv"
    summary = cli_json(
        capsys,
        ["quiz", "key", "data_parallelism", "--course", SECRET, "--roster", str(roster)]
        + ["--out", str(out)],
    )
    assert summary["students"] == 2 and summary["rows"] == 2 * len(bank.items)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["student"] for r in rows} == {"ada.lovelace", "ghopper"}
    for row in rows:
        item = bank.item(row["item"])
        student = row["student"]
        if isinstance(item, SingleChoice):
            assert row["answer"] == presented(item, student=student, course=SECRET).answer
        elif isinstance(item, MultipleChoice):
            view = presented(item, student=student, course=SECRET)
            assert row["answer"].split(",") == list(view.answer)
        elif isinstance(item, ConceptItem):
            assert row["answer"].split(" | ") == [c.name for c in item.concepts]
            assert row["answer_text"] == item.model_answer
        elif isinstance(item, NumericItem):
            key = make_variant(item, student, course=SECRET).key
            assert float(row["answer"]) == pytest.approx(key, rel=1e-9)
            low, high = float(row["accept_min"]), float(row["accept_max"])
            assert low < key < high and row["tolerance"]
            assert grade_answer(
                item, low * 0.999 + high * 0.001, student=student, course=SECRET
            ).correct
            assert not grade_answer(
                item, high + (high - low), student=student, course=SECRET
            ).correct
    js = tmp_path / "key.json"
    cli_json(capsys, ["quiz", "key", "data_parallelism", "--course", SECRET]
             + ["--student", "ghopper", "--out", str(js)])  # fmt: skip
    data = json.loads(js.read_text())
    assert list(data["students"]) == ["ghopper"]
    assert set(data["students"]["ghopper"]["items"]) == {i.id for i in bank.items}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("student\nada\nbob\nada\n", ("ada", "bob")),
        ("Name;Student_ID\nAda L;ada\nBob;bob\n", ("ada", "bob")),
        ("email\tsection\nada@uni.edu\t1\n\n", ("ada@uni.edu",)),
        (CANVAS, ("ada.lovelace", "ghopper")),
        # Canvas with one-word display names: still the logins, never the names.
        ("Student,ID,SIS User ID,SIS Login ID\n    Manual Posting,,,\nAda,1,u1,alov\n", ("alov",)),
    ],
)
def test_roster_formats(text, expected):
    assert parse_roster(text).students == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the roster is empty"),
        ("name\nAda Lovelace\n", "no column of student ids"),
        ("student\nAda Lovelace\n", "row 2, column 'student': 'Ada Lovelace' is not a student id"),
        ("student\n\n", "column 'student' has no student ids"),
    ],
)
def test_bad_rosters_name_row_and_column(text, message):
    with pytest.raises(RosterError, match=message.replace("(", r"\(")):
        parse_roster(text, "r.csv")


def test_key_bad_inputs_are_one_line_exit_2(tmp_path, capsys):
    roster = tmp_path / "r.csv"
    roster.write_text("name\nAda Lovelace\n")
    cases = [
        (["--roster", str(roster), "--out", str(tmp_path / "k.csv")], "no column of student ids"),
        (["--roster", str(tmp_path / "none.csv"), "--out", "k.csv"], "no such roster file"),
        (["--student", "ada", "--out", str(tmp_path / "k.txt")], "as .csv or .json"),
        (["--student", "not an id", "--out", str(tmp_path / "k.csv")], "is not a student id"),
        (["--student", "ada", "--attempt", "-1", "--out", "k.csv"], "is not an attempt number"),
    ]
    for extra, message in cases:
        code, out, err = cli(capsys, ["quiz", "key", "zero", "--course", SECRET, *extra])
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and message in lines[0], (extra, err)
    assert not (tmp_path / "k.txt").exists()


@FUZZ
@given(st.lists(st.text(max_size=20), max_size=6), st.sampled_from([",", ";", "\t"]))
def test_fuzzed_roster_names_never_crash(names, sep):
    text = "student" + sep + "x\n" + "".join(f"{n}{sep}1\n" for n in names)
    try:
        students = parse_roster(text).students
    except RosterError as exc:
        assert "\n" not in str(exc)
        return
    import re

    assert students and all(re.match(STUDENT_PATTERN, s) for s in students)
    rows = answer_key(load_bank("zero"), students, course=SECRET)
    assert len(rows) == len(students) * len(load_bank("zero").items)


@FUZZ
@given(st.text(min_size=1, max_size=30))
def test_fuzzed_student_names_on_the_cli_never_crash(tmp_path_factory, name):
    out = tmp_path_factory.mktemp("k") / "k.json"
    import contextlib

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(
            ["quiz", "key", "zero", "--course", SECRET, f"--student={name}", "--out", str(out)]
        )
    assert code in (0, 2)
    if code == 2:
        assert len(stderr.getvalue().strip().splitlines()) == 1
    else:
        assert json.loads(out.read_text())["students"][name]


@FUZZ
@given(st.binary(max_size=300))
def test_fuzzed_roster_files_on_the_cli_never_crash(tmp_path_factory, data):
    import contextlib

    folder = tmp_path_factory.mktemp("r")
    (folder / "r.csv").write_bytes(b"student\n" + data)
    stderr = io.StringIO()
    argv = ["quiz", "key", "zero", "--course", SECRET, "--roster", str(folder / "r.csv")]
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main([*argv, "--out", str(folder / "k.csv")])
    assert code in (0, 2)
    assert (code == 2) == (len(stderr.getvalue().strip().splitlines()) == 1)
    assert (folder / "k.csv").exists() == (code == 0)


def test_accepted_range_matches_the_grader():
    from simlib.quiz.grading import within
    from simlib.quiz.schema import Tolerance

    for tol in (Tolerance(relative=0.02), Tolerance(absolute=0.5), Tolerance(sigfigs=3)):
        for key in (19.25, 1234.5, 0.0071):
            low, high = accepted_range(key, tol)
            assert within(low + 1e-12 * abs(key), key, tol) and within(
                high - 1e-12 * abs(key), key, tol
            )
            assert not within(high + 0.01 * (high - low), key, tol)


# --- private banks: --bank-dir --------------------------------------------------------------


FAIR_BANK = """
topic: exam
title: A private exam
items:
  - {id: q1, type: single, prompt: "One?", answer: A,
     options: [right one, a much longer wrong option here, wrong, nope]}
  - {id: q2, type: single, prompt: "Two?", answer: B,
     options: [a much longer wrong option here, right two, wrong, nope]}
  - {id: q3, type: single, prompt: "Three?", answer: C,
     options: [wrong, a much longer wrong option here, right three, nope]}
  - {id: q4, type: single, prompt: "Four?", answer: D,
     options: [wrong, nope, a much longer wrong option here, right four]}
  - id: q5
    type: numeric
    prompt: "A ring all-reduce of {mb} MB over {p} ranks at 10 GB/s: how many ms?"
    function: allreduce_cost
    field: seconds
    params: {mb: {min: 10, max: 100, step: 10}, p: {values: [2, 4, 8, 16]}}
    args: {algorithm: ring, ranks: {param: p}, nbytes: {param: mb, scale: 1.0e6},
           bandwidth_bytes_per_s: 1.0e10}
    answer_scale: 1000
    unit: ms
    tolerance: {relative: 0.02}
"""

UNFAIR_BANK = """
topic: leaky
title: Always B
items:
  - {id: l1, type: single, prompt: "One?", answer: B, options: [x, the right answer, y]}
  - {id: l2, type: single, prompt: "Two?", answer: B, options: [x, the right answer, y]}
  - {id: l3, type: single, prompt: "Three?", answer: A, options: [right, nope, not really],
     explanation: "Unlike option B, right is right."}
"""


@pytest.fixture
def private_dir(tmp_path):
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "exam.yaml").write_text(FAIR_BANK)
    return folder


def test_numeric_item_of_the_private_bank_is_valid(private_dir):
    from simlib.quiz.bank import load_bank as load

    bank = load("exam", bank_dir=private_dir)
    assert make_variant(bank.item("q5"), "ada", course=SECRET).key > 0


def test_check_passes_a_fair_bank_and_prints_its_figures(private_dir, capsys):
    result = cli_json(capsys, ["quiz", "check", "--bank-dir", str(private_dir)])
    (row,) = result["banks"]
    assert result["ok"] and row["ok"] and row["choice_points"] == 4
    assert row["same_letter"]["share"] == 0.25 and row["longest_option"]["share"] == 0.0
    code, out, err = cli(capsys, ["quiz", "check", "--bank-dir", str(private_dir)])
    assert code == 0 and "same letter A 25.0%, longest option 0.0%" in out


def test_check_fails_an_unfair_bank_naming_bank_and_figure(private_dir, capsys):
    (private_dir / "leaky.yaml").write_text(UNFAIR_BANK)
    code, out, err = cli(capsys, ["quiz", "check", "--bank-dir", str(private_dir), "--json"])
    assert code == 1
    result = json.loads(out)
    rows = {b["bank"]: b for b in result["banks"]}
    assert rows["exam"]["ok"] and not rows["leaky"]["ok"] and not result["ok"]
    assert rows["leaky"]["same_letter"] == {"letter": "B", "points": 2.0, "share": round(2 / 3, 6)}
    assert rows["leaky"]["longest_option"]["share"] == pytest.approx(2 / 3, abs=1e-6)
    lines = err.strip().splitlines()
    assert len(lines) == 3
    assert "bank 'leaky'" in lines[0] and "66.7%" in lines[0] and "same-letter figure" in lines[0]
    assert "bank 'leaky'" in lines[1] and "longest-option figure" in lines[1]
    assert "item 'l3' field explanation names an option by letter ('option B')" in lines[2]


def test_every_quiz_command_reads_a_private_bank_dir(private_dir, tmp_path, capsys, monkeypatch):
    d = ["--bank-dir", str(private_dir)]
    assert cli_json(capsys, ["quiz", "list", *d])["banks"][0]["topic"] == "exam"
    paper = tmp_path / "p.json"
    cli_json(capsys, ["quiz", "paper", "exam", "--student", "ada", "--course", SECRET,
                      "--out", str(paper), *d])  # fmt: skip
    cli_json(capsys, ["quiz", "key", "exam", "--student", "ada", "--course", SECRET,
                      "--out", str(tmp_path / "k.json"), *d])  # fmt: skip
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ada.json").write_text(json.dumps(json.loads(paper.read_text())["submission"]))
    assert cli_json(capsys, ["quiz", "grade", "--bank", "exam", "--submissions", str(subs),
                             "--course", SECRET, *d])["graded"] == 1  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(":q\n"))
    assert cli(capsys, ["quiz", "take", "exam", *d])[0] == 0
    monkeypatch.setenv("SIMLIB_QUIZ_DIR", str(private_dir))
    assert cli_json(capsys, ["quiz", "list"])["banks"][0]["topic"] == "exam"


@pytest.mark.parametrize(
    "argv",
    [
        ["quiz", "list", "--bank-dir", "/no/such/dir"],
        ["quiz", "check", "--bank-dir", "/no/such/dir"],
        ["quiz", "paper", "exam", "--student", "a", "--out", "p.json", "--bank-dir", "/no/such"],
        ["quiz", "grade", "--bank", "exam", "--submissions", ".", "--bank-dir", "/no/such"],
        [
            "quiz",
            "key",
            "exam",
            "--course",
            "k",
            "--student",
            "a",
            "--out",
            "k.csv",
            "--bank-dir",
            "/no/such",
        ],  # fmt: skip
        ["quiz", "take", "exam", "--bank-dir", "/no/such"],
    ],
)
def test_a_bad_bank_dir_is_one_line_exit_2(capsys, argv):
    code, out, err = cli(capsys, argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "--bank-dir '/no/such" in lines[0], err


def test_a_bad_env_dir_or_bank_file_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIMLIB_QUIZ_DIR", str(tmp_path / "missing"))
    code, _, err = cli(capsys, ["quiz", "list"])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "SIMLIB_QUIZ_DIR" in err
    monkeypatch.delenv("SIMLIB_QUIZ_DIR")
    (tmp_path / "broken.yaml").write_text("topic: [unclosed\n")
    code, _, err = cli(capsys, ["quiz", "check", "--bank-dir", str(tmp_path)])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "broken.yaml" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = cli(capsys, ["quiz", "check", "--bank-dir", str(empty)])
    assert code == 2 and f"no quiz banks found in {empty}" in err


# --- the shipped banks ----------------------------------------------------------------------


def test_shipped_banks_strategy_figures_are_at_most_35_percent(capsys):
    """Holds once the banks' keys are spread over the letters and their distractors rewritten."""
    figures = {n: strategy_scores(load_bank(n)) for n in bank_names()}
    print("\nbank                 same-letter  longest-option")
    for name, s in figures.items():
        print(f"{name:<20} {s.same_letter} {s.same_letter_share:6.1%}   {s.longest_share:6.1%}")
    unfair = {
        n: (round(s.same_letter_share, 3), round(s.longest_share, 3))
        for n, s in figures.items()
        if max(s.same_letter_share, s.longest_share) > MAX_STRATEGY_SHARE + 1e-12
    }
    assert not unfair, unfair
    code, out, err = cli(capsys, ["quiz", "check", "--students", "2"])
    assert code == 0, err


def test_the_secret_can_come_from_the_environment(tmp_path, capsys, monkeypatch):
    from simlib.cli.quiz import PUBLIC_COURSE
    from simlib.quiz.variants import DEFAULT_COURSE

    assert PUBLIC_COURSE == DEFAULT_COURSE
    code, _, err = cli(capsys, ["quiz", "key", "zero", "--student", "ada", "--out", "k.csv"])
    assert code == 2 and "--course" in err and len(err.strip().splitlines()) == 1
    flag, env = tmp_path / "flag.json", tmp_path / "env.json"
    cli_json(capsys, ["quiz", "paper", "zero", "--student", "ada", "--course", SECRET]
             + ["--out", str(flag)])  # fmt: skip
    monkeypatch.setenv("SIMLIB_COURSE_SECRET", SECRET)
    code, out, err = cli(capsys, ["quiz", "paper", "zero", "--student", "ada", "--out", str(env)])
    assert code == 0 and "warning" not in err
    assert flag.read_bytes() == env.read_bytes()
    monkeypatch.delenv("SIMLIB_COURSE_SECRET")
    code, out, err = cli(capsys, ["quiz", "paper", "zero", "--student", "ada", "--out", str(env)])
    assert code == 0 and "warning: no --course secret" in err
    assert json.loads(env.read_text())["paper_id"] != json.loads(flag.read_text())["paper_id"]
