"""Item analysis of a graded class: which items were hard, which told students apart, and why.

``simlib quiz grade --json`` writes, besides the summary, one record per student and item
(:func:`class_records`): the score, the points, the options chosen **in authored letters**
(each student's answer mapped back through that student's option order, so a class with
shuffled papers aggregates) and, for free-text items, the concepts found and missed.
``simlib quiz report GRADES.json --out DIR`` reads those records and writes:

- ``items.csv``: per item, **difficulty** ``p`` (the mean fraction of the item's points, 0 to
  1; classical test theory calls it the item's *p-value*: higher is easier) and
  **discrimination** (the point-biserial correlation of the item score with the rest of the
  test, :func:`point_biserial`);
- ``distractors.csv``: per choice item and authored option, how many students chose it;
- ``concepts.csv``: per free-text item and concept, the share of answers that missed it;
- ``items.png``: difficulty against discrimination, one labelled point per item.

Example:
    >>> round(point_biserial([1, 1, 0, 0], [3, 1, 1, 1]), 6)
    0.57735
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simlib.quiz.answers import read_answer
from simlib.quiz.errors import QuizError
from simlib.quiz.order import option_order, to_authored
from simlib.quiz.schema import LETTERS, Bank, ConceptItem, MultipleChoice, SingleChoice
from simlib.quiz.storage import write_bytes_atomic, write_text_atomic

__all__ = [
    "ConceptMiss",
    "ItemStats",
    "OptionCount",
    "Report",
    "analyse",
    "authored_choice",
    "class_records",
    "load_grades",
    "point_biserial",
    "write_report",
]

FORMAT = "simlib-grades-v1"


def point_biserial(item_scores: Sequence[float], rest_scores: Sequence[float]) -> float | None:
    """Correlation of an item's scores with the rest of the test (Pearson's r).

    For an item scored 0 or 1 this is the point-biserial coefficient

        r_pb = (M_1 - M_0) / s_n * sqrt(p * q),

    with ``M_1``, ``M_0`` the mean rest-of-test score of students who got the item right and
    wrong, ``s_n`` the population standard deviation of the rest scores, ``p`` the share right
    and ``q = 1 - p`` (Crocker & Algina, *Introduction to Classical and Modern Test Theory*,
    1986, ch. 14; "Point-biserial correlation coefficient", Wikipedia). The rest score leaves
    the item out (the *corrected* item-total correlation), so an item does not correlate with
    itself. For partial-credit items the same Pearson correlation is used. ``None`` when
    either side does not vary (everyone scored the same), where r is undefined.

    Example:
        >>> point_biserial([1, 0, 1, 0], [3, 2, 0, 1])
        0.0
    """
    n = len(item_scores)
    if n != len(rest_scores) or n < 2:
        return None
    mx, my = sum(item_scores) / n, sum(rest_scores) / n
    dx = [x - mx for x in item_scores]
    dy = [y - my for y in rest_scores]
    sxx, syy = sum(d * d for d in dx), sum(d * d for d in dy)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sum(a * b for a, b in zip(dx, dy, strict=True)) / math.sqrt(sxx * syy)


def authored_choice(item, answer: Any, *, student: str, course: str, attempt: int) -> list[str]:
    """The authored letters of the options ``student`` chose (``[]`` when none were read)."""
    if not isinstance(item, SingleChoice | MultipleChoice) or answer is None:
        return []
    text = ", ".join(map(str, answer)) if isinstance(answer, list | tuple) else str(answer)
    reading = read_answer(item, text)
    if not reading.ok:
        return []
    shown = [reading.value] if isinstance(item, SingleChoice) else reading.value
    order = option_order(
        item.id, len(item.options), student=student, course=course, attempt=attempt
    )
    return sorted(to_authored(letter, order) for letter in shown)


def _item_meta(item) -> dict:
    meta = {"id": item.id, "type": item.type, "points": item.points}
    if isinstance(item, SingleChoice | MultipleChoice):
        meta["options"] = list(item.options)
        meta["key"] = [item.answer] if isinstance(item, SingleChoice) else sorted(item.answer)
    if isinstance(item, ConceptItem):
        meta["concepts"] = [{"id": c.id, "name": c.name} for c in item.concepts]
    return meta


def class_records(
    bank: Bank, rows: Sequence, answers: Mapping[str, Mapping[str, Any]], *, course: str
) -> dict:
    """Per-item metadata and per-student records, the part of the grades JSON a report reads.

    ``rows`` are graded submissions (``SubmissionResult``); ``answers`` maps each student to
    the answers they submitted (letters as they saw them).
    """
    items = {item.id: item for item in bank.items}
    students = []
    for row in rows:
        given = answers.get(row.student, {})
        record = {}
        for result in row.items:
            item = items[result.item_id]
            entry = {"score": round(result.score, 6), "points": result.points}
            if isinstance(item, SingleChoice | MultipleChoice):
                entry["chosen"] = authored_choice(
                    item, given.get(item.id), student=row.student, course=course,
                    attempt=row.attempt,
                )  # fmt: skip
            if isinstance(item, ConceptItem) and "missed" in result.details:
                entry["found"] = list(result.details.get("found", ()))
                entry["missed"] = list(result.details["missed"])
            record[result.item_id] = entry
        students.append(
            {"student": row.student, "attempt": row.attempt, "score": round(row.score, 6),
             "items": record}
        )  # fmt: skip
    return {"format": FORMAT, "items": [_item_meta(i) for i in bank.items], "students": students}


def load_grades(path: str | os.PathLike) -> dict:
    """Read a grades JSON written by ``simlib quiz grade --json``; :class:`QuizError` if unfit."""
    target = Path(path)
    fix = f"write it with `simlib quiz grade ... --json > {target.name}`"
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QuizError(f"{target}: cannot be read ({exc.strerror}); {fix}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise QuizError(f"{target}: not valid JSON; {fix}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise QuizError(f"{target}: field format: not {FORMAT!r} grades; {fix}")
    for field in ("items", "students"):
        if not isinstance(data.get(field), list):
            raise QuizError(f"{target}: field {field}: missing or not a list; {fix}")
    return data


@dataclass(frozen=True)
class ItemStats:
    """Difficulty (mean fraction of points) and discrimination (point-biserial r) of one item."""

    item: str
    type: str
    points: float
    students: int
    difficulty: float | None
    discrimination: float | None


@dataclass(frozen=True)
class OptionCount:
    """How many students chose one (authored) option of a choice item."""

    item: str
    letter: str
    option: str
    key: bool
    count: int
    share: float


@dataclass(frozen=True)
class ConceptMiss:
    """How many of the answers to a free-text item missed one concept."""

    item: str
    concept: str
    name: str
    answered: int
    missed: int

    @property
    def miss_rate(self) -> float | None:
        return self.missed / self.answered if self.answered else None


@dataclass(frozen=True)
class Report:
    """The item analysis of one class."""

    items: tuple[ItemStats, ...]
    options: tuple[OptionCount, ...]
    concepts: tuple[ConceptMiss, ...]


def _entry(student: dict, item_id: str) -> dict:
    entry = student.get("items", {}).get(item_id)
    return entry if isinstance(entry, dict) else {}


def _item_stats(meta: dict, students: list[dict]) -> ItemStats:
    taken = [s for s in students if _entry(s, meta["id"])]
    scores = [float(_entry(s, meta["id"]).get("score", 0.0)) for s in taken]
    totals = [sum(float(e.get("score", 0.0)) for e in s["items"].values()) for s in taken]
    rest = [t - x for t, x in zip(totals, scores, strict=True)]
    points = float(meta["points"])
    difficulty = sum(scores) / (points * len(scores)) if scores else None
    r = point_biserial(scores, rest)
    return ItemStats(meta["id"], meta["type"], points, len(taken), difficulty, r)


def _option_counts(meta: dict, students: list[dict]) -> list[OptionCount]:
    if "options" not in meta:
        return []
    chosen = [_entry(s, meta["id"]).get("chosen", []) for s in students]
    chosen = [c for c in chosen if isinstance(c, list)]
    out = []
    for index, text in enumerate(meta["options"]):
        letter = LETTERS[index]
        count = sum(letter in c for c in chosen)
        share = count / len(chosen) if chosen else 0.0
        out.append(OptionCount(meta["id"], letter, text, letter in meta["key"], count, share))
    blank = sum(not c for c in chosen)
    out.append(OptionCount(meta["id"], "-", "(no answer read)", False, blank,
                           blank / len(chosen) if chosen else 0.0))  # fmt: skip
    return out


def _concept_misses(meta: dict, students: list[dict]) -> list[ConceptMiss]:
    answered = [_entry(s, meta["id"]) for s in students]
    answered = [e for e in answered if isinstance(e.get("missed"), list)]
    return [
        ConceptMiss(meta["id"], c["id"], c["name"], len(answered),
                    sum(c["id"] in e["missed"] for e in answered))
        for c in meta.get("concepts", [])
    ]  # fmt: skip


def analyse(grades: dict) -> Report:
    """The item analysis of a grades JSON (:func:`class_records`)."""
    students = [s for s in grades["students"] if isinstance(s, dict)]
    metas = [m for m in grades["items"] if isinstance(m, dict)]
    items = tuple(_item_stats(m, students) for m in metas)
    options = tuple(o for m in metas for o in _option_counts(m, students))
    concepts = tuple(c for m in metas for c in _concept_misses(m, students))
    return Report(items, options, concepts)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def report_tables(report: Report) -> dict[str, str]:
    """The three CSV files of a report, by file name."""
    items = [
        [s.item, s.type, f"{s.points:g}", s.students, _fmt(s.difficulty), _fmt(s.discrimination)]
        for s in report.items
    ]
    options = [
        [o.item, o.letter, o.option, "yes" if o.key else "no", o.count, _fmt(o.share)]
        for o in report.options
    ]
    concepts = [
        [c.item, c.concept, c.name, c.answered, c.missed, _fmt(c.miss_rate)]
        for c in report.concepts
    ]
    return {
        "items.csv": _csv(
            ["item", "type", "points", "students", "difficulty", "discrimination"], items
        ),
        "distractors.csv": _csv(["item", "letter", "option", "key", "count", "share"], options),
        "concepts.csv": _csv(
            ["item", "concept", "name", "answered", "missed", "miss_rate"], concepts
        ),  # fmt: skip
    }


def write_report(report: Report, folder: str | os.PathLike, *, title: str = "") -> list[Path]:
    """Write the three CSV files and ``items.png`` into ``folder``; return their paths."""
    from simlib.viz.display import figure_png
    from simlib.viz.items import plot_item_analysis

    root = Path(folder)
    paths = [write_text_atomic(root / name, text) for name, text in report_tables(report).items()]
    figure = plot_item_analysis(report.items, title=title)
    paths.append(write_bytes_atomic(root / "items.png", figure_png(figure, dpi=110)))
    return paths
