"""Regrading: alternative keys for an item, and per-student adjustments, each with a reason.

A teacher who finds an item ambiguous after the exam does not edit the bank (papers already
went out); they write an overrides file and grade again::

    # overrides.yaml, for --bank model_parallelism
    items:
      - item: mp-activation-memory
        accept: ["C"]          # single: another authored letter also earns full points
        reason: "C is defensible as worded"
      - item: mp-more-microbatches
        accept: ["AD"]         # multiple: another full answer set (authored letters)
        reason: "activation memory does not grow for a fixed batch"
      - item: mp-bubble-percent
        accept_factor: [0.01]  # numeric: the student's own key times 0.01 also earns full points
        accept_value: [20]     # numeric: this value (item's unit, item's tolerance) too
        reason: "answered as a fraction"
      - item: mp-explain-bubble
        credit: [interleave]   # concepts: count this concept as found for everyone
        reason: "not taught yet"
    students:
      - student: ada
        item: mp-gpipe-makespan-ms
        points: 0.5            # add (or subtract) points on this item, kept within [0, points]
        reason: "right formula; arithmetic slip"
      - student: bo
        item: mp-explain-bubble
        score: 1               # or set the item's score outright
        reason: "answer graded by hand"

Letters are the **authored** letters of the bank (what ``simlib quiz list`` shows), never the
letters a student saw: every student's answer is mapped through their own option order, so one
override serves a class with shuffled papers. An alternative key never lowers a score (the
student keeps the better of the two grades); student adjustments are applied after the item
overrides, in file order. Every change is recorded as an :class:`Applied` with its reason, and
the gradebook lists them (a CSV column, a JSON section, the student's Gradescope feedback).

A file that cannot be read or does not fit this shape is an :class:`OverrideError`: one line
naming the file, the entry and the field.

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> o = parse_overrides(
    ...     "items: [{item: dp-global-batch, accept: [D], reason: typo}]",
    ...     load_bank("data_parallelism"),
    ... )
    >>> o.items[0].accept
    ('D',)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simlib.errors import ConfigError
from simlib.quiz.answers import read_answer
from simlib.quiz.errors import QuizError
from simlib.quiz.gradebook import Gradebook
from simlib.quiz.grading import ItemResult, SubmissionResult, grade_submission, within
from simlib.quiz.schema import LETTERS, Bank, ConceptItem, MultipleChoice, NumericItem, SingleChoice
from simlib.yaml_files import parse_yaml, read_text

__all__ = [
    "Applied",
    "ItemOverride",
    "OverrideError",
    "Overrides",
    "StudentAdjustment",
    "apply_overrides",
    "load_overrides",
    "parse_overrides",
    "regrade",
]

MAX_OVERRIDE_BYTES = 1_000_000
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class OverrideError(QuizError, ConfigError):
    """An overrides file that cannot be used; the message names file, entry and field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ItemOverride(_Model):
    """Alternative keys for one item, for every student."""

    item: str
    reason: Reason
    accept: tuple[Annotated[str, Field(min_length=1, max_length=8)], ...] = ()
    accept_factor: tuple[Annotated[float, Field(gt=0, allow_inf_nan=False)], ...] = ()
    accept_value: tuple[Finite, ...] = ()
    credit: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _something(self) -> ItemOverride:
        if not (self.accept or self.accept_factor or self.accept_value or self.credit):
            raise ValueError("say what to accept: accept, accept_factor, accept_value or credit")
        return self


class StudentAdjustment(_Model):
    """One student's score on one item, changed by ``points`` or set to ``score``."""

    student: str
    item: str
    reason: Reason
    points: Finite | None = None
    score: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _one(self) -> StudentAdjustment:
        if (self.points is None) == (self.score is None):
            raise ValueError("give exactly one of points (added) or score (set)")
        return self


class Overrides(_Model):
    """An overrides file: item-wide alternative keys, then per-student adjustments."""

    items: tuple[ItemOverride, ...] = Field((), max_length=500)
    students: tuple[StudentAdjustment, ...] = Field((), max_length=10_000)


@dataclass(frozen=True)
class Applied:
    """One override that changed (or set) one student's score on one item."""

    student: str
    item: str
    kind: str
    detail: str
    before: float
    after: float
    reason: str

    def as_dict(self) -> dict:
        return {
            "student": self.student,
            "item": self.item,
            "kind": self.kind,
            "detail": self.detail,
            "before": round(self.before, 6),
            "after": round(self.after, 6),
            "reason": self.reason,
        }

    def text(self) -> str:
        """``dp-x: accepted D, 0 -> 1 (reason)``, for the CSV column and the feedback."""
        return f"{self.item}: {self.detail}, {self.before:g} -> {self.after:g} ({self.reason})"


def _check_against_bank(o: Overrides, bank: Bank, source: str) -> None:
    for n, entry in enumerate(o.items):
        where = f"{source}: items[{n}] ({entry.item})"
        item = _item(bank, entry.item, f"{source}: items[{n}].item")
        _check_kinds(item, entry, where)
    for n, adj in enumerate(o.students):
        item = _item(bank, adj.item, f"{source}: students[{n}].item")
        if adj.score is not None and adj.score > item.points:
            raise OverrideError(
                f"{source}: students[{n}].score: {adj.score:g} is over the item's "
                f"{item.points:g} points; give at most {item.points:g}"
            )


def _item(bank: Bank, item_id: str, where: str):
    ids = {i.id: i for i in bank.items}
    if item_id not in ids:
        raise OverrideError(
            f"{where}: {item_id!r} is not an item of bank {bank.topic}; "
            "use an id from `simlib quiz list`"
        )
    return ids[item_id]


def _check_kinds(item, entry: ItemOverride, where: str) -> None:
    allowed = {
        SingleChoice: {"accept"},
        MultipleChoice: {"accept"},
        NumericItem: {"accept_factor", "accept_value"},
        ConceptItem: {"credit"},
    }[type(item)]
    given = {k for k in ("accept", "accept_factor", "accept_value", "credit") if getattr(entry, k)}
    if given - allowed:
        raise OverrideError(
            f"{where}: a {item.type} item takes {' or '.join(sorted(allowed))}, "
            f"not {', '.join(sorted(given - allowed))}"
        )
    valid = LETTERS[: len(getattr(item, "options", ()))]
    for alt in entry.accept:
        letters = alt.upper()
        if (
            not letters
            or any(ch not in valid for ch in letters)
            or (isinstance(item, SingleChoice) and len(letters) != 1)
        ):
            count = "one letter" if isinstance(item, SingleChoice) else "letters"
            raise OverrideError(
                f"{where}: accept {alt!r} is not {count} from {valid[0]} to {valid[-1]} "
                "(authored letters, as `simlib quiz list` shows them)"
            )
    if isinstance(item, ConceptItem):
        ids = [c.id for c in item.concepts]
        bad = [c for c in entry.credit if c not in ids]
        if bad:
            raise OverrideError(f"{where}: credit names unknown concept(s) {bad}; use {ids}")


def _explain(exc: ValidationError, source: str) -> str:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in error["loc"]) or "(top level)"
    return f"{source}: field {field}: {error['msg']}; see `simlib quiz grade --help` for the shape"


def parse_overrides(text: str, bank: Bank, source: str = "<overrides>") -> Overrides:
    """Validate an overrides file's YAML text against ``bank``; :class:`OverrideError` if bad."""
    data = parse_yaml(text, source, error=OverrideError)  # aliases, depth, duplicate keys refused
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise OverrideError(f"{source}: expected a mapping with 'items' and/or 'students'")
    try:
        overrides = Overrides.model_validate(data)
    except ValidationError as exc:
        raise OverrideError(_explain(exc, source)) from None
    _check_against_bank(overrides, bank, source)
    return overrides


def load_overrides(path: str | os.PathLike, bank: Bank) -> Overrides:
    """Read and validate the overrides file at ``path``."""
    text = read_text(path, what="overrides", error=OverrideError, max_bytes=MAX_OVERRIDE_BYTES)
    return parse_overrides(text, bank, os.fspath(path))


def _regraded(bank: Bank, item, row: SubmissionResult, answers: Mapping[str, Any], course: str):
    """Grade one student's answer to ``item`` (an altered copy) the way the class is graded."""
    alt_bank = bank.model_copy(
        update={"items": tuple(item if i.id == item.id else i for i in bank.items)}
    )
    graded = grade_submission(
        alt_bank, row.student, answers, course=course, attempt=row.attempt, items=(item.id,)
    )
    return graded.items[0].score


def _alternatives(bank: Bank, entry: ItemOverride, row, answers, course, before: ItemResult):
    """(detail, score) for each alternative key the entry offers, graded for this student."""
    item = bank.item(entry.item)
    out = []
    for alt in entry.accept:
        key = alt.upper() if isinstance(item, SingleChoice) else tuple(sorted(set(alt.upper())))
        alt_item = item.model_copy(update={"answer": key})
        out.append((f"accepted {alt.upper()}", _regraded(bank, alt_item, row, answers, course)))
    for factor in entry.accept_factor:
        alt_item = item.model_copy(update={"answer_scale": item.answer_scale * factor})
        score = _regraded(bank, alt_item, row, answers, course)
        out.append((f"accepted the key x {factor:g}", score))
    raw = answers.get(item.id)
    number = read_answer(item, None if raw is None else str(raw)) if entry.accept_value else None
    for value in entry.accept_value:
        ok = number is not None and number.ok and within(number.value, value, item.tolerance)
        out.append((f"accepted {value:g} {item.unit}".rstrip(), item.points * ok))
    if entry.credit:
        found = set(before.details.get("found", ())) | set(entry.credit)
        known = [c.id for c in item.concepts]
        fraction = sum(c in found for c in known) / len(known)
        out.append((f"credited {', '.join(entry.credit)}", item.points * fraction))
    return out


def _set(result: ItemResult, score: float, note: str) -> ItemResult:
    score = min(max(score, 0.0), result.points)
    correct = score >= result.points - 1e-9
    return replace(
        result,
        score=score,
        correct=bool(correct),
        feedback=f"{result.feedback} Regraded: {note}".strip(),
        details={**result.details, "override": note},
    )


def _apply_row(bank, overrides, row, answers, course) -> tuple[SubmissionResult, list[Applied]]:
    by_item = {r.item_id: r for r in row.items}
    applied: list[Applied] = []
    for entry in overrides.items:
        before = by_item.get(entry.item)
        if before is None:
            continue
        options = _alternatives(bank, entry, row, answers, course, before)
        detail, best = max(options, key=lambda o: o[1])
        if best > before.score + 1e-12:
            new = _set(before, best, f"{detail} ({entry.reason})")
            applied.append(
                Applied(
                    row.student, entry.item, "item", detail, before.score, new.score, entry.reason
                )
            )
            by_item[entry.item] = new
    for adj in overrides.students:
        before = by_item.get(adj.item)
        if adj.student != row.student or before is None:
            continue
        target = before.score + adj.points if adj.points is not None else adj.score
        detail = f"{adj.points:+g} points" if adj.points is not None else f"set to {adj.score:g}"
        new = _set(before, target, f"{detail} ({adj.reason})")
        applied.append(
            Applied(row.student, adj.item, "student", detail, before.score, new.score, adj.reason)
        )
        by_item[adj.item] = new
    items = tuple(by_item[r.item_id] for r in row.items)
    return replace(row, items=items), applied


def apply_overrides(
    bank: Bank,
    rows: Sequence[SubmissionResult],
    answers: Mapping[str, Mapping[str, Any]],
    overrides: Overrides,
    *,
    course: str,
) -> tuple[tuple[SubmissionResult, ...], tuple[Applied, ...], tuple[str, ...]]:
    """Apply ``overrides`` to graded ``rows``; ``answers`` maps each student to their answers.

    Returns the regraded rows (same order), every override applied, and the students named
    in adjustments who have no graded submission (nothing was applied for them).
    """
    out, applied = [], []
    for row in rows:
        new, done = _apply_row(bank, overrides, row, answers.get(row.student, {}), course)
        out.append(new)
        applied += done
    graded = {row.student for row in rows}
    missing = tuple(sorted({a.student for a in overrides.students} - graded))
    return tuple(out), tuple(applied), missing


def regrade(
    book: Gradebook, submissions: Sequence, overrides: Overrides
) -> tuple[Gradebook, tuple[str, ...]]:
    """``book`` with ``overrides`` applied to the students who submitted ``submissions``.

    Returns the new gradebook (its ``overrides`` lists every change) and the students named in
    adjustments who have no graded submission.
    """
    answers = {s.student: s.answers for s in submissions}
    rows, applied, missing = apply_overrides(
        book.bank, book.rows, answers, overrides, course=book.course
    )
    return replace(book, rows=rows, overrides=applied), missing
