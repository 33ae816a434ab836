"""Taking a quiz: answers read with units and list formats, typos free, submissions that grade."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlib.cli import main
from simlib.quiz import load_bank, make_variant, parse_submission, take_in_terminal
from simlib.quiz.answers import read_answer
from simlib.quiz.order import presented
from simlib.quiz.schema import LETTERS
from simlib.quiz.units import UnitError, convert, lookup, parse_quantity

ROOT = Path(__file__).resolve().parents[1]
DP = load_bank("data_parallelism")
RING = DP.item("dp-ring-allreduce-ms")  # unit ms
BATCH = DP.item("dp-global-batch")  # single choice
SPELLINGS = DP.item("dp-jax-spellings")  # multiple choice


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMLIB_STATE_DIR", str(tmp_path / "state"))


@pytest.mark.parametrize(
    ("value", "unit", "target", "expected"),
    [
        (19.25, "ms", "ms", 19.25),
        (0.01925, "s", "ms", 19.25),
        (19250, "us", "ms", 19.25),
        (2.5, "GB", "GB", 2.5),
        (2.5, "GiB", "GB", 2.5 * 2**30 / 1e9),
        (512, "MiB", "MB", 512 * 2**20 / 1e6),
        (1, "TB", "GB", 1000.0),
        (100, "Gbit/s", "GB/s", 12.5),
        (100, "Gbps", "GB/s", 12.5),
        (25, "GBps", "GB/s", 25.0),
        (800, "Mb", "MB", 100.0),
        (1.5, "min", "ms", 90_000.0),
        (150, "%", "x", 1.5),
        (1.5, "x", "%", 150.0),
        (3, "k", "", 3000.0),
        (12, "steps", "steps", 12.0),
        (12, "step", "steps", 12.0),
    ],
)
def test_conversions_are_exact(value, unit, target, expected):
    assert convert(value, unit, target) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("unit", "target", "message"),
    [
        ("GB", "ms", "GB is a data unit, but the answer is a time in ms"),
        ("ms", "GB/s", "ms is a time unit, but the answer is a rate in GB/s"),
        ("parsecs", "ms", "unit 'parsecs' is not known"),
        ("gb", "GB", "unit 'gb' is not known; did you mean GB or Gb"),
        ("s", "", "s is a time unit, but the answer is a ratio"),
    ],
)
def test_mismatched_units_say_what_to_write(unit, target, message):
    with pytest.raises(UnitError, match=message):
        convert(1.0, unit, target)


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("19.25 ms", 19.25, "ms"),
        ("19.25ms", 19.25, "ms"),
        ("-1.5e3", -1500.0, ""),
        ("1,500 MB", 1500.0, "MB"),
        ("1_000", 1000.0, ""),
        (".5 s", 0.5, "s"),
        ("40%", 40.0, "%"),
    ],
)
def test_quantities_are_read(text, value, unit):
    assert parse_quantity(text) == parse_quantity(text)
    q = parse_quantity(text)
    assert (q.value, q.unit) == (value, unit)


@pytest.mark.parametrize("text", ["19,25", "1,5 ms", "ms", "", "abc", "1.2.3"])
def test_unreadable_numbers_are_refused_not_guessed(text):
    with pytest.raises(UnitError):
        convert(parse_quantity(text).value, parse_quantity(text).unit, "ms")


def test_rates_are_data_per_time():
    assert lookup("MiB/ms").dimension == "rate"
    assert lookup("MiB/ms").factor == 2**20 / 1e-3
    assert lookup("ms/GB") is None


@pytest.mark.parametrize(
    "text", ['["A", "C"]', "A, C", "A C", "AC", "ac", "a;c", "['a','c']", "C A", "(A, C)"]
)
def test_every_list_format_the_prompt_shows_is_read(text):
    assert read_answer(SPELLINGS, text).value == ["A", "C"]


@pytest.mark.parametrize(("text", "letter"), [("b", "B"), (' "C" ', "C"), ('["D"]', "D")])
def test_one_letter_is_read_in_any_dress(text, letter):
    assert read_answer(BATCH, text).value == letter


@pytest.mark.parametrize(
    ("item", "text", "problem"),
    [
        (BATCH, "Z", "'Z' is not option letters; use letters A to D"),
        (BATCH, "AB", "choose exactly one letter"),
        (BATCH, "the third", "is not option letters"),
        (SPELLINGS, "A, 3", "is not option letters"),
        (RING, "19,25", "is not one number"),
        (RING, "12 GB", "GB is a data unit"),
        (RING, "1e999", "too large"),
        (RING, "   ", "no answer given"),
    ],
)
def test_unreadable_answers_have_a_problem_not_a_grade(item, text, problem):
    reading = read_answer(item, text)
    assert not reading.ok and problem in reading.problem


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_fuzzed_answers_are_read_or_refused(text):
    for item in (BATCH, SPELLINGS, RING):
        reading = read_answer(item, text)
        assert reading.ok != bool(reading.problem)


def _script(*lines):
    """An ``ask`` that answers with ``lines`` in turn, then ends the input."""
    feed = iter(lines)
    prompts = []

    def ask(prompt):
        prompts.append(prompt)
        try:
            value = next(feed)
        except StopIteration:
            raise EOFError from None
        if isinstance(value, BaseException):
            raise value
        return value

    ask.prompts = prompts
    return ask


def test_a_typo_is_asked_again_and_costs_nothing():
    key = make_variant(RING, "ada").key
    said = []
    ask = _script("nineteen", f"{key / 1000:.6g} s")
    taken = take_in_terminal(DP, "ada", items=[RING.id], ask=ask, say=said.append)
    assert len(ask.prompts) == 2
    assert any("Could not read that" in s and "costs nothing" in s for s in said)
    (result,) = taken.items
    assert result.correct and taken.score == 1.0
    assert taken.answers == {RING.id: pytest.approx(key, rel=1e-6)}


def test_the_student_sees_and_is_graded_in_their_own_order():
    view = presented(BATCH, student="ada", course="simlib", attempt=0)
    said = []
    taken = take_in_terminal(DP, "ada", items=[BATCH.id], ask=_script(view.answer), say=said.append)
    shown = [line.strip()[3:] for line in said if line.startswith("  ") and line[3] == ")"]
    assert shown == list(view.options)
    assert taken.items[0].correct and taken.answers == {BATCH.id: view.answer}
    wrong = next(x for x in LETTERS[:4] if x != view.answer)
    again = take_in_terminal(DP, "ada", items=[BATCH.id], ask=_script(wrong), say=said.append)
    assert not again.items[0].correct


def test_self_study_keeps_the_authored_order():
    said = []
    taken = take_in_terminal(DP, items=[BATCH.id], ask=_script(BATCH.answer), say=said.append)
    assert taken.items[0].correct and taken.student is None
    assert f"  A) {BATCH.options[0]}" in said


@pytest.mark.parametrize("stop", [EOFError(), KeyboardInterrupt(), ":q"])
def test_stopping_keeps_what_was_answered(stop):
    said = []
    items = [BATCH.id, SPELLINGS.id, RING.id]
    view = presented(BATCH, student="bo", course="simlib", attempt=0)
    taken = take_in_terminal(DP, "bo", items=items, ask=_script(view.answer, stop), say=said.append)
    assert taken.stopped and len(taken.items) == 1 and taken.score == 1.0
    assert taken.answers == {BATCH.id: view.answer, SPELLINGS.id: None, RING.id: None}
    assert any("answers so far are kept" in s for s in said)
    assert parse_submission(json.dumps(taken.submission())).answers[BATCH.id] == view.answer


def _grade_folder(tmp_path, capsys, sub: Path) -> dict:
    folder = tmp_path / "subs"
    folder.mkdir(exist_ok=True)
    (folder / sub.name).write_bytes(sub.read_bytes())
    assert main(["quiz", "grade", "--bank", "data_parallelism", "--submissions", str(folder),
                 "--json"]) == 0  # fmt: skip
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_take_writes_a_submission_that_grade_accepts(tmp_path, monkeypatch, capsys):
    key = make_variant(RING, "cy").key
    spell = presented(SPELLINGS, student="cy", course="simlib", attempt=0)
    typed = f"oops\n{key * 1e3:.6g} us\n{json.dumps(list(spell.answer))}\n"
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(typed))
    out = tmp_path / "cy.json"
    argv = ["quiz", "take", "data_parallelism", "--student", "cy", "--out", str(out)]
    assert main([*argv, "--items", f"{RING.id},{SPELLINGS.id}", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["score"] == 2.0 and result["out"] == str(out)
    saved = json.loads(out.read_text())
    assert saved["student"] == "cy" and saved["answers"][SPELLINGS.id] == list(spell.answer)
    graded = _grade_folder(tmp_path, capsys, out)
    assert graded["graded"] == 1 and graded["rejected"] == []


def test_out_needs_a_valid_student_before_anything_is_asked(tmp_path, capsys):
    out = str(tmp_path / "x.json")
    assert main(["quiz", "take", "basics", "--out", out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "add --student ID" in err[0]
    assert main(["quiz", "take", "basics", "--out", out, "--student", "no spaces"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "field student" in err[0]


def _cli(args, stdin: str, timeout=60):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "simlib", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )


def test_piped_stdin_in_a_subprocess_saves_even_when_input_ends_early(tmp_path):
    key = make_variant(RING, "dee").key
    out = tmp_path / "dee.json"
    args = ["quiz", "take", "data_parallelism", "--student", "dee", "--out", str(out)]
    proc = _cli([*args, "--items", f"{RING.id},{BATCH.id}"], f"{key / 1e3:.6g} s\n")
    assert proc.returncode == 0, proc.stderr
    assert "answers so far are kept" in proc.stdout and "Score: 1 of 1 points" in proc.stdout
    saved = json.loads(out.read_text())
    assert saved["answers"][RING.id] == pytest.approx(key, rel=1e-6)
    assert saved["answers"][BATCH.id] is None


def _read_until(fd: int, marker: bytes, timeout_s: float = 60.0) -> bytes:
    import select
    import time

    seen, end = b"", time.monotonic() + timeout_s
    while marker not in seen and time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_line_editing_works_on_a_terminal():
    """Typed on a real (pseudo-)terminal: Ctrl-A then Ctrl-K erase the line (readline's keys).

    Without readline the line would arrive as "x\\x01\\x0b" + the letter, which cannot be read.
    """
    import pty

    item = load_bank("basics").item("basics-goal")
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "simlib", "quiz", "take", "basics", "--items", item.id],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    try:
        assert b"> " in _read_until(master, b"> ")
        os.write(master, b"x\x01\x0b" + item.answer.encode() + b"\r")
        seen = _read_until(master, b"Score:")
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    text = seen.decode(errors="replace")
    assert "Could not read" not in text and "Correct" in text, text


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=6))
def test_fuzzed_lines_never_crash_a_sitting(lines):
    taken = take_in_terminal(
        DP, "fuzz", items=[BATCH.id, SPELLINGS.id, RING.id], ask=_script(*lines), say=lambda _: None
    )
    assert len(taken.items) <= 3 and 0.0 <= taken.score <= taken.max_score
    assert parse_submission(json.dumps(taken.submission())).student == "fuzz"


def test_ctrl_c_in_a_subprocess_still_writes_the_submission(tmp_path):
    import signal

    key = make_variant(RING, "eve").key
    out = tmp_path / "eve.json"
    args = ["quiz", "take", "data_parallelism", "--student", "eve", "--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "simlib", *args, "--items", f"{RING.id},{BATCH.id}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
    )  # fmt: skip
    try:
        assert b"[1/2]" in _read_until(proc.stdout.fileno(), b"> ")
        proc.stdin.write(f"{key:.6g} ms\n".encode())
        proc.stdin.flush()
        seen = _read_until(proc.stdout.fileno(), b"[2/2]")
        if b"> " not in seen.split(b"[2/2]")[-1]:
            _read_until(proc.stdout.fileno(), b"> ")
        proc.send_signal(signal.SIGINT)
        rest = proc.stdout.read().decode()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "answers so far are kept" in rest and f"wrote {out}" in rest
    saved = json.loads(out.read_text())
    assert saved["answers"][RING.id] == pytest.approx(key, rel=1e-6)
    assert saved["answers"][BATCH.id] is None
