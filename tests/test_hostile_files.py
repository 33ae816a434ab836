"""A class folder of hostile files: every valid submission is still graded, both outputs are
written, every other file is named with the reason, nothing raw reaches the terminal, and
concurrent flashcard reviews lose nothing.

All hostile things are made inside a temporary folder (the one link to ``/dev/zero`` is only
listed, never read: it leads outside the folder and is refused on that alone).
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import fsrs
import pytest
from helpers import right_answer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlib.cli import main
from simlib.quiz import (
    SubmissionError,
    grade_answer,
    grade_submission,
    load_bank,
    load_deck,
    load_submissions,
    make_variant,
    parse_submission,
)
from simlib.quiz.gradebook import grade_class, write_gradebook
from simlib.quiz.schema import NumericItem, SingleChoice
from simlib.quiz.submissions import MAX_SUBMISSION_BYTES, check_identity

ROOT = Path(__file__).resolve().parents[1]
BANK = load_bank("zero")
NUMERIC = next(i for i in BANK.items if isinstance(i, NumericItem))
CHOICE = next(i for i in BANK.items if isinstance(i, SingleChoice))
TOTAL = sum(i.points for i in BANK.items)


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMLIB_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _sub(student, answers=None, **extra) -> str:
    return json.dumps({"student": student, "answers": answers or {}, **extra})


def _answer(value: str) -> str:
    """A submission whose numeric item's answer is the raw JSON ``value``."""
    return f'{{"student": "x{len(value)}", "answers": {{"{NUMERIC.id}": {value}}}}}'


def _deep(depth: int) -> str:
    nested = "[" * depth + "]" * depth
    return f'{{"student": "deep", "answers": {{"{NUMERIC.id}": {nested}}}}}'


# name -> (bytes, words the rejection must contain); None bytes: made specially below.
HOSTILE: dict[str, tuple[bytes | None, str]] = {
    "int-310-digits.json": (_answer("9" * 310).encode(), "310 digits"),
    "int-5000-digits.json": (_answer("7" * 5000).encode(), "not valid JSON"),
    "float-overflow.json": (_answer("1e999").encode(), "beyond the limit"),
    "nan.json": (_answer("NaN").encode(), "beyond the limit"),
    "neg-huge.json": (_answer("-" + "1" * 120).encode(), "120 digits"),
    "deep-100000.json": (_deep(100_000).encode(), "not valid JSON"),
    "deep-6.json": (_deep(6).encode(), "nested deeper than 4"),
    "long-string.json": (_answer(json.dumps("x" * 20_001)).encode(), "over the limit of 20000"),
    "long-key.json": (_sub("lk", {"k" * 65: "A"}).encode(), "answers"),
    "many-keys.json": (_sub("mk", {f"k{i}": "A" for i in range(501)}).encode(), "answers"),
    "bool.json": (_answer("true").encode(), "true/false"),
    "object-answer.json": (_answer('{"a": 1}').encode(), "a dict is not an answer"),
    "list-of-numbers.json": (_answer("[1, 2]").encode(), "a list answer"),
    "not-json.json": (b"student: ada\nanswers: {}\n", "not valid JSON"),
    "binary.json": (bytes(range(256)) * 4, "not valid JSON"),
    "nul.json": (b'{"student": "nul\x00", "answers": {}}', "not valid JSON"),
    "empty.json": (b"", "not valid JSON"),
    "top-list.json": (b"[1, 2, 3]", "top level"),
    "top-null.json": (b"null", "top level"),
    "no-student.json": (b'{"answers": {}}', "student"),
    "bad-id.json": (_sub("=HYPERLINK()").encode(), "student"),
    "id-newline.json": (_sub("ada\nforged line").encode(), "student"),
    "attempt-negative.json": (_sub("an", attempt=-1).encode(), "attempt"),
    "attempt-huge.json": (_sub("ah", attempt=10**30).encode(), "attempt"),
    "attempt-text.json": (_sub("at", attempt="1").encode(), "attempt"),
    "extra-field.json": (_sub("ef", score=100).encode(), "score"),
    "dup-key.json": (b'{"student": "dk", "student": "ace", "answers": {}}', "appears twice"),
    "huge-file.json": (_sub("hf", {"a": "x" * MAX_SUBMISSION_BYTES}).encode(), "over the limit"),
    "\x1b[2J\x1b]0;pwned\x07evil.json": (b"{broken", "not valid JSON"),
    "two\nlines.json": (b"{broken", "not valid JSON"),
    "rtl-\u202egnp.json": (b"{broken", "not valid JSON"),
    "notes.txt": (b"not a submission", "not a *.json file"),
    "ada.JSON": (_sub("upper").encode(), "not a *.json file"),
    "ada.json.bak": (_sub("bak").encode(), "not a *.json file"),
    ".DS_Store": (b"\x00\x00", "not a *.json file"),
    "fifo.json": (None, "not a regular file"),
    "socket.json": (None, "not a regular file"),
    "dev-zero.json": (None, "outside the submissions folder"),
    "outside.json": (None, "outside the submissions folder"),
    "dangling.json": (None, "cannot be read"),
    "loop.json": (None, "a symlink that loops"),
}
UNDECODABLE = b"\xff\xfe-latin.json"  # a name that is not UTF-8


def _class_folder(tmp_path: Path) -> tuple[Path, list]:
    folder = tmp_path / "subs"
    folder.mkdir()
    ace = {i.id: right_answer(i, "ace") for i in BANK.items}
    (folder / "ace.json").write_text(_sub("ace", ace))
    (folder / "half.json").write_text(_sub("half", {CHOICE.id: right_answer(CHOICE, "half")}))
    as_text = str(make_variant(NUMERIC, "txt", attempt=3).key)
    (folder / "text-number.json").write_text(_sub("txt", {NUMERIC.id: as_text}, attempt=3))
    (folder / "blank.json").write_text(_sub("blank"))
    (folder / "bom.json").write_bytes(b"\xef\xbb\xbf" + _sub("bom").encode())  # Windows editors
    red = _sub("red", {CHOICE.id: right_answer(CHOICE, "red")})
    (folder / "\x1b[31mred-but-valid.json").write_text(red)
    for name, (data, _) in HOSTILE.items():
        if data is not None:
            (folder / name).write_bytes(data)
    os.mkfifo(folder / "fifo.json")
    (folder / "folder.json").mkdir()  # empty folders hold nothing to grade or report
    (folder / "subfolder").mkdir()
    deep = folder / "d1" / "d2" / "d3" / "d4" / "d5"
    deep.mkdir(parents=True)
    (deep / "deep.json").write_text(_sub("deep"))
    # A second, older file of ace's with nothing in it: replaced by ace.json, not graded.
    (folder / "zz-duplicate.json").write_text(_sub("ace"))
    older = (folder / "ace.json").stat().st_mtime - 60
    os.utime(folder / "zz-duplicate.json", (older, older))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(folder / "socket.json"))
    (folder / "dev-zero.json").symlink_to("/dev/zero")
    (tmp_path / "elsewhere.json").write_text(_sub("sneaky", ace))
    (folder / "outside.json").symlink_to(tmp_path / "elsewhere.json")
    (folder / "dangling.json").symlink_to("nowhere.json")
    (folder / "loop.json").symlink_to("loop.json")
    with open(os.path.join(os.fsencode(folder), UNDECODABLE), "wb") as handle:
        handle.write(b"\x80 not json")
    return folder, [sock]


def test_a_hostile_class_folder_is_graded_and_reported(tmp_path, capsys):
    folder, keep = _class_folder(tmp_path)
    csv_path, gs_path = tmp_path / "out" / "grades.csv", tmp_path / "out" / "results.json"
    argv = ["quiz", "grade", "--bank", "zero", "--submissions", str(folder),
            "--csv", str(csv_path), "--json-out", str(gs_path), "--json"]  # fmt: skip
    assert main(argv) == 1  # some files were skipped; the outputs are written all the same
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(csv_path.read_text()))}
    assert sorted(rows) == ["ace", "blank", "bom", "half", "red", "txt"]
    assert float(rows["ace"]["score"]) == pytest.approx(TOTAL)
    assert float(rows["txt"][NUMERIC.id]) == NUMERIC.points and rows["txt"]["attempt"] == "3"
    assert float(rows["half"]["score"]) == CHOICE.points == float(rows["red"]["score"])
    assert float(rows["blank"]["score"]) == 0
    gradescope = json.loads(gs_path.read_text())
    assert sorted(gradescope["students"]) == sorted(rows)
    # Every other entry of the folder is named, with its reason.
    reasons = {r["file"]: r["reason"] for r in summary["rejected"]}
    assert gradescope["rejected"] == summary["rejected"]
    expected = {name: words for name, (_, words) in HOSTILE.items()}
    shown = {
        "\x1b[2J\x1b]0;pwned\x07evil.json": "\\x1b[2J\\x1b]0;pwned\\x07evil.json",
        "two\nlines.json": "two\\nlines.json",
        "rtl-\u202egnp.json": "rtl-\\u202egnp.json",
    }
    expected = {shown.get(n, n): w for n, w in expected.items()}
    expected["\\udcff\\udcfe-latin.json"] = "not valid JSON"
    expected["d1/d2/d3/d4/d5"] = "nested over 4 deep"
    assert sorted(reasons) == sorted(expected)
    (replaced,) = summary["replaced"]
    assert (replaced["file"], replaced["by"]) == ("zz-duplicate.json", "ace.json")
    for name, words in expected.items():
        assert words in reasons[name], (name, reasons[name])
        assert reasons[name].startswith(name), reasons[name]
    # The terminal gets one line per skipped file and no control character at all.
    err = captured.err.splitlines()
    skipped = [line for line in err if line.startswith("simlib: skipped ")]
    assert len(skipped) == len(expected) and len(err) == len(expected) + 1
    assert "replaced by ace.json" in next(x for x in err if x not in skipped)
    assert not any(ch < " " or "\x7f" <= ch <= "\x9f" or ch == "\u202e" for ch in captured.err
                   if ch != "\n")  # fmt: skip
    del keep


def test_one_submission_that_breaks_the_grader_does_not_stop_the_class(tmp_path, monkeypatch):
    """Defence in depth: should grading one submission raise, it is reported and the others
    are graded and written."""
    import simlib.quiz.gradebook as gradebook

    real = gradebook.grade_submission

    def fragile(bank, student, answers, **kw):
        if student == "boom":
            raise ArithmeticError("a bug")
        return real(bank, student, answers, **kw)

    monkeypatch.setattr(gradebook, "grade_submission", fragile)
    subs = [parse_submission(_sub(s), f"{s}.json") for s in ("ada", "boom", "cy")]
    book = grade_class(BANK, subs)
    assert [r.student for r in book.rows] == ["ada", "cy"]
    (bad,) = book.rejected
    assert bad.path == "boom.json" and "could not be graded (ArithmeticError)" in bad.reason
    write_gradebook(book, csv_path=tmp_path / "g.csv", json_path=tmp_path / "r.json")
    assert len((tmp_path / "g.csv").read_text().splitlines()) == 3


def test_the_310_digit_answer_no_longer_takes_the_class_down(tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "big.json").write_text(_answer("9" * 310))
    (folder / "ok.json").write_text(_sub("ok", {CHOICE.id: CHOICE.answer}))
    argv = ["quiz", "grade", "--bank", "zero", "--submissions", str(folder),
            "--csv", str(tmp_path / "g.csv"), "--json-out", str(tmp_path / "r.json")]  # fmt: skip
    assert main(argv) == 1
    assert "ok," in (tmp_path / "g.csv").read_text()
    assert "310 digits" in capsys.readouterr().err
    # Called directly (a notebook, a widget), the grader reads no number instead of raising.
    for raw in (10**310, -(10**5000), "9" * 400, "1e999", "1" * 65):
        result = grade_answer(NUMERIC, raw, student="ok")
        assert result.score == 0 and "No number read" in result.feedback


IDENTITIES = [
    ("ada", 0), ("ada.lovelace@uni+1", 10_000), ("A" * 128, 5), ("=HYPERLINK()", 0),
    ("a b", 0), ("", 0), ("A" * 129, 0), ("-lead", 0), ("ada\n", 0), ("ada", -1),
    ("ada", 10_001), ("\x1b[2J", 0), ("é", 0),
]  # fmt: skip


@pytest.mark.parametrize(("student", "attempt"), IDENTITIES)
def test_paper_accepts_exactly_the_ids_and_attempts_grade_accepts(
    tmp_path, capsys, student, attempt
):
    try:
        parse_submission(_sub(student, attempt=attempt), "s.json")
        graded = True
    except SubmissionError:
        graded = False
    out = tmp_path / "paper.json"
    status = main(["quiz", "paper", "zero", f"--student={student}", f"--attempt={attempt}",
                   "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert status == (0 if graded else 2)
    assert out.exists() == graded
    if not graded:
        assert len(err) == 1 and ("would be refused by quiz grade" in err[0] or (
            "is not an attempt number from 0 to 10000" in err[0]))  # fmt: skip
        assert "\x1b" not in err[0]
    else:
        assert check_identity(student, attempt).student == student


# Hypothesis: whatever a submission holds, it is graded or rejected, never a traceback.
numbers = st.one_of(
    st.integers(-(10**400), 10**400),
    st.integers(-(10**3), 10**3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**100, -(10**100), 10**100 + 1, 1e100, 1.0000001e100]),
)
leaves = st.one_of(
    st.none(), st.booleans(), numbers, st.text(max_size=40),
    st.text(alphabet="0123456789.eE+-_ ", max_size=80), st.sampled_from(["x" * 20_001, "A"]),
)  # fmt: skip
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
IDS = [i.id for i in BANK.items]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(st.sampled_from(["ada", "b0b"]), values),
    st.dictionaries(st.one_of(st.sampled_from(IDS), st.text(max_size=70)), values, max_size=6),
    st.one_of(st.integers(-5, 20_000), values),
    st.integers(0, 6),
)
def test_any_submission_content_grades_or_is_rejected_in_one_line(student, answers, attempt, nest):
    data = {"student": student, "answers": answers, "attempt": attempt}
    for _ in range(nest):
        data = {"student": student, "answers": {IDS[0]: [data]}}
    raw = json.dumps(data, allow_nan=True)
    try:
        sub = parse_submission(raw, "h.json")
    except SubmissionError as exc:
        message = str(exc)
        assert message.startswith("h.json: ") and "\n" not in message
        return
    result = grade_submission(BANK, sub.student, sub.answers, attempt=sub.attempt)
    assert 0 <= result.score <= result.max_score == TOTAL
    assert all(r.feedback and "\n" not in r.feedback for r in result.items)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(st.one_of(st.binary(max_size=200), values.map(json.dumps)), max_size=4))
def test_any_files_in_a_folder_leave_the_valid_one_graded(tmp_path, files):
    import shutil

    folder = tmp_path / "h"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "aaa-valid.json").write_text(_sub("valid", {CHOICE.id: CHOICE.answer}))
    for i, data in enumerate(files):
        (folder / f"f{i}.json").write_bytes(data if isinstance(data, bytes) else data.encode())
    good, rejected = load_submissions(folder)
    book = grade_class(BANK, good, rejected)
    assert "valid" in [r.student for r in book.rows]
    assert len(book.rows) + len(book.rejected) == len(files) + 1
    write_gradebook(book, csv_path=folder / "out.csv", json_path=folder / "out.gs")


# Concurrent reviews: two processes rate at the same moment; every rating survives.
REVIEWER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from simlib.quiz import ReviewState, load_deck
    state_path, go, cards = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split(",")
    rounds = int(sys.argv[4])
    state = ReviewState(load_deck("parallelism"), state_path)
    while not go.exists():
        time.sleep(0.001)
    for _ in range(rounds):
        for card in cards:
            state.review(card, "good")
    print(state.stats()["reviewed_this_session"])
    """
)


def _race(tmp_path: Path, groups: list[list[str]], rounds: int) -> Path:
    state_path, go = tmp_path / "cards_parallelism.json", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REVIEWER, str(state_path), str(go), ",".join(g), str(rounds)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for g in groups
    ]
    go.touch()
    for proc, group in zip(procs, groups, strict=True):
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and int(out) == rounds * len(group)
    return state_path


def _log(state_path: Path) -> list[dict]:
    lines = state_path.with_name("cards_parallelism.log.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_two_sessions_rating_different_cards_lose_nothing(tmp_path):
    cards = [c.id for c in load_deck("parallelism").cards]
    path = _race(tmp_path, [cards[0::2], cards[1::2]], rounds=3)
    saved = json.loads(path.read_text())["cards"]
    assert sorted(saved) == sorted(cards)  # every card of both sessions is in the state
    log = _log(path)
    assert len(log) == 3 * len(cards)
    assert {c: sum(e["card"] == c for e in log) for c in cards} == dict.fromkeys(cards, 3)
    for card in cards:  # each card's saved state is the last of its logged reviews
        last = max(e["review_datetime"] for e in log if e["card"] == card)
        assert saved[card]["last_review"] == last


def test_two_sessions_rating_the_same_card_apply_both_in_turn(tmp_path):
    card = load_deck("parallelism").cards[0].id
    path = _race(tmp_path, [[card], [card]], rounds=4)
    log = _log(path)
    assert len(log) == 8
    # Replaying the log in order from a new card gives exactly the saved state.
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    replayed = fsrs.Card(card_id=log[0]["card_id"])
    for entry in log:
        when = datetime.fromisoformat(entry["review_datetime"])
        replayed, _ = scheduler.review_card(replayed, fsrs.Rating(entry["rating"]), when)
    assert json.loads(path.read_text())["cards"][card] == replayed.to_dict()
