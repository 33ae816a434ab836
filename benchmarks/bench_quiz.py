"""Grading speed: 1,000 submissions of a 20-item quiz, and the teacher's key for 300 students
(targets: at most 5 s each), and printed PDF papers and keys for a roster of 60 (at most 10 s).

The quiz mixes 8 numeric items (each student's own variant, key computed by ``simlib.sim``),
8 single/multiple choice items (each student's own option order) and 4 free-text items graded
by concepts. Answers are a deterministic mix of right (in the student's letters), known-mistake,
wrong and missing. Figures:

- ``grade_class`` on parsed submissions (the grading itself);
- end to end as ``simlib quiz grade`` does it: read and validate 1,000 JSON files, grade, and
  write the CSV and Gradescope files atomically;
- ``simlib quiz key`` for a roster of 300 students, end to end through the CLI on the largest
  shipped bank (read the roster CSV, recompute every variant and option order, write the key
  CSV), and in memory on the 20-item quiz (key rows, CSV and JSON text).

- ``simlib quiz paper --roster (60 students) --pdf DIR`` and ``simlib quiz key --roster (60)
  --pdf key.pdf`` on the largest shipped bank, end to end through the CLI; their baseline is
  building the same 60 papers as JSON text (no layout, no PDF).

The baseline of the other figures, measured in the same run, is a bare loop over the same
answers comparing each
with a precomputed key (no variants, no parsing, no feedback): the floor any grader pays.
Run: ``python benchmarks/run_all.py quiz``.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from simlib.cli import main as cli_main
from simlib.quiz import (
    Bank,
    grade_class,
    load_bank,
    load_submissions,
    make_variant,
    write_class_json,
    write_csv,
)
from simlib.quiz.key import answer_key, key_csv, key_json
from simlib.quiz.order import presented
from simlib.quiz.roster import parse_roster
from simlib.quiz.schema import ConceptItem, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.submissions import Submission
from simlib.quiz.variants import DEFAULT_COURSE, mistake_value

STUDENTS = 1000
ROSTER = 300
TARGET_S = 5.0
PRINTED = 60
PRINTED_TARGET_S = 10.0
LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "concept_answers.yaml"


def quiz() -> Bank:
    """20 items: 8 numeric, 8 choice, 4 concepts, from the shipped banks."""
    pool = [
        i
        for t in (
            "data_parallelism",
            "zero",
            "parameter_servers",
            "model_parallelism",
            "synchronisation",
            "basics",
            "fault_tolerance",
        )
        for i in load_bank(t).items
    ]
    numeric = [i for i in pool if isinstance(i, NumericItem)][:8]
    choice = [i for i in pool if isinstance(i, SingleChoice | MultipleChoice)][:8]
    concepts = [i for i in pool if isinstance(i, ConceptItem)][:4]
    return Bank(topic="bench", title="Benchmark quiz", items=(*numeric, *choice, *concepts))


def _answer(item, student: str, rng: np.random.Generator, texts: dict[str, list[str]]):
    roll = rng.random()
    if roll < 0.1:
        return None
    if isinstance(item, NumericItem):
        variant = make_variant(item, student)
        if roll < 0.6 or not item.mistakes:
            return variant.key
        if roll < 0.8:
            return mistake_value(
                item, variant, item.mistakes[int(rng.integers(len(item.mistakes)))]
            )
        return variant.key * 1.7
    if isinstance(item, SingleChoice | MultipleChoice):
        item = presented(item, student=student, course=DEFAULT_COURSE)
    if isinstance(item, SingleChoice):
        return item.answer if roll < 0.6 else "ABCD"[int(rng.integers(len(item.options)))]
    if isinstance(item, MultipleChoice):
        return list(item.answer) if roll < 0.6 else ["A"]
    return texts[item.id][int(rng.integers(len(texts[item.id])))]


def submissions(bank: Bank) -> list[Submission]:
    rng = np.random.default_rng(0)
    labelled = yaml.safe_load(LABELS.read_text())["answers"]
    texts = {
        i.id: [r["answer"] for r in labelled if r["item"] == i.id] or [i.model_answer]
        for i in bank.items
        if isinstance(i, ConceptItem)
    }
    subs = []
    for k in range(STUDENTS):
        student = f"s{k:04d}"
        answers = {i.id: _answer(i, student, rng, texts) for i in bank.items}
        subs.append(
            Submission(student=student, answers={a: v for a, v in answers.items() if v is not None})
        )
    return subs


def bare_loop(bank: Bank, subs: list[Submission]) -> float:
    """Seconds to compare every answer with a precomputed key: the floor."""
    keys = {}
    for s in subs:
        for item in bank.items:
            if isinstance(item, NumericItem):
                keys[s.student, item.id] = make_variant(item, s.student).key
            elif isinstance(item, ConceptItem):
                keys[s.student, item.id] = item.concepts[0].name.split()[0]
            else:
                view = presented(item, student=s.student, course=DEFAULT_COURSE)
                keys[s.student, item.id] = view.answer
    start = time.perf_counter()
    total = 0.0
    for s in subs:
        for item in bank.items:
            answer, key = s.answers.get(item.id), keys[s.student, item.id]
            if isinstance(key, float):
                total += isinstance(answer, float) and abs(answer - key) <= 0.02 * abs(key)
            elif isinstance(item, ConceptItem):
                total += isinstance(answer, str) and key in answer
            else:
                total += answer == key
    return time.perf_counter() - start


def _timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def end_to_end(bank: Bank, subs: list[Submission]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "subs"
        folder.mkdir()
        for s in subs:
            (folder / f"{s.student}.json").write_text(json.dumps(s.model_dump()))
        start = time.perf_counter()
        good, rejected = load_submissions(folder)
        book = grade_class(bank, good, rejected)
        write_csv(book, Path(tmp) / "grades.csv")
        write_class_json(book, Path(tmp) / "results.json")
        elapsed = time.perf_counter() - start
        assert book.summary()["graded"] == STUDENTS
    return elapsed


def key_cli(bank_name: str = "data_parallelism") -> float:
    """Seconds for ``simlib quiz key BANK --roster (300 students) --out key.csv``."""
    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "roster.csv"
        roster.write_text("student\n" + "".join(f"s{k:04d}@uni.edu\n" for k in range(ROSTER)))
        out = Path(tmp) / "key.csv"
        argv = ["quiz", "key", bank_name, "--course", "bench-secret", "--roster", str(roster)]
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli_main([*argv, "--out", str(out), "--json"])
        elapsed = time.perf_counter() - start
        rows = out.read_text().count("\n") - 1
        assert code == 0 and rows == ROSTER * len(load_bank(bank_name).items), rows
    return elapsed


def key_in_memory(bank: Bank) -> float:
    roster = parse_roster("student\n" + "".join(f"s{k:04d}\n" for k in range(ROSTER))).students
    start = time.perf_counter()
    rows = answer_key(bank, roster, course="bench-secret")
    key_csv(rows)
    json.dumps(key_json(bank, rows))
    return time.perf_counter() - start


def _printed_cli(action: str, out: str, bank_name: str = "data_parallelism") -> float:
    """Seconds for ``simlib quiz ACTION BANK --roster (60 students) --pdf OUT``."""
    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "roster.csv"
        roster.write_text("student\n" + "".join(f"s{k:03d}@uni.edu\n" for k in range(PRINTED)))
        target = Path(tmp) / out
        argv = ["quiz", action, bank_name, "--course", "bench-secret", "--roster", str(roster)]
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli_main([*argv, "--pdf", str(target), "--json"])
        elapsed = time.perf_counter() - start
        files = list(target.glob("*.pdf")) if target.is_dir() else [target]
        assert code == 0 and len(files) == (PRINTED if action == "paper" else 1), files
        assert all(f.read_bytes().startswith(b"%PDF-") for f in files)
    return elapsed


def papers_as_json(bank_name: str = "data_parallelism") -> float:
    """Seconds to build the same 60 papers and serialise them as JSON: the floor."""
    from simlib.quiz.paper import build_paper

    bank = load_bank(bank_name)
    start = time.perf_counter()
    for k in range(PRINTED):
        json.dumps(build_paper(bank, f"s{k:03d}@uni.edu", course="bench-secret"))
    return time.perf_counter() - start


def _printed_row(name: str, value: float, baseline: float) -> dict:
    return {
        **_row(name, value, baseline),
        "target": PRINTED_TARGET_S,
        "ok": value <= PRINTED_TARGET_S,
    }


def _row(name: str, value: float, baseline: float) -> dict:
    return {
        "name": name,
        "value": value,
        "baseline": baseline,
        "ratio": value / baseline,
        "target": TARGET_S,
        "unit": "s",
        "ok": value <= TARGET_S,
    }


def main() -> list[dict]:
    bank = quiz()
    subs = submissions(bank)
    grade_class(bank, subs[:20])  # warm the caches (imports, compiled concept frames)
    baseline = statistics.median(bare_loop(bank, subs) for _ in range(3))
    graded = _timed(lambda: grade_class(bank, subs), 3)
    full = end_to_end(bank, subs)
    key_path = _timed(key_cli, 3)
    key_memory = _timed(lambda: key_in_memory(bank), 3)
    json_papers = _timed(papers_as_json, 3)
    pdf_papers = _timed(lambda: _printed_cli("paper", "papers"), 3)
    pdf_key = _timed(lambda: _printed_cli("key", "key.pdf"), 3)
    return [
        _row("grade 1,000 submissions x 20 items (in memory)", graded, baseline),
        _row("simlib quiz grade path: read 1,000 files, grade, write CSV+JSON", full, baseline),
        _row("simlib quiz key, 300-student roster, largest bank, to CSV", key_path, baseline),
        _row("quiz key rows for 300 students x 20 items (CSV+JSON text)", key_memory, baseline),
        _printed_row("simlib quiz paper --pdf, 60 students, largest bank", pdf_papers, json_papers),
        _printed_row(
            "simlib quiz key --pdf key.pdf, 60 students, largest bank", pdf_key, json_papers
        ),
    ]


if __name__ == "__main__":
    for row in main():
        print(row)
