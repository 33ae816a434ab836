"""Grading speed: 1,000 submissions of a 20-item quiz (target: at most 5 s).

The quiz mixes 8 numeric items (each student's own variant, key computed by ``simlib.sim``),
8 single/multiple choice items and 4 free-text items graded by concepts. Answers are a
deterministic mix of right, known-mistake, wrong and missing. Two figures:

- ``grade_class`` on parsed submissions (the grading itself);
- end to end as ``simlib quiz grade`` does it: read and validate 1,000 JSON files, grade, and
  write the CSV and Gradescope files atomically.

The baseline, measured in the same run, is a bare loop over the same answers comparing each
with a precomputed key (no variants, no parsing, no feedback): the floor any grader pays.
Run: ``python benchmarks/run_all.py quiz``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from simlib.quiz import (
    Bank,
    grade_class,
    load_bank,
    load_submissions,
    make_variant,
    write_csv,
    write_gradescope,
)
from simlib.quiz.schema import ConceptItem, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.submissions import Submission
from simlib.quiz.variants import mistake_value

STUDENTS = 1000
TARGET_S = 5.0
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
                keys[s.student, item.id] = item.answer
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
        write_gradescope(book, Path(tmp) / "results.json")
        elapsed = time.perf_counter() - start
        assert book.summary()["graded"] == STUDENTS
    return elapsed


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
    return [
        _row("grade 1,000 submissions x 20 items (in memory)", graded, baseline),
        _row("simlib quiz grade path: read 1,000 files, grade, write CSV+JSON", full, baseline),
    ]


if __name__ == "__main__":
    for row in main():
        print(row)
