"""A student's paper: the questions of their variant, and nothing that gives an answer away.

A paper holds each item's id, type, prompt (numbers filled in for this student), options,
parameters, unit, points and the expected answer format, plus a submission template to fill
in. It never holds keys, correct letters, explanations, option feedback, concepts,
misconceptions, model answers, mistakes or the function that computes the key.

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> paper = build_paper(load_bank("basics"), "ada")
    >>> sorted(paper["items"][0])
    ['answer_format', 'hint', 'id', 'options', 'points', 'prompt', 'type']
"""

from __future__ import annotations

from collections.abc import Sequence

from simlib.quiz.schema import LETTERS, Bank, ConceptItem, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.variants import DEFAULT_COURSE, make_variant

__all__ = ["build_paper", "paper_item"]


def paper_item(item, student: str, *, course: str = DEFAULT_COURSE, attempt: int = 0) -> dict:
    """What a student sees of one item."""
    out = {"id": item.id, "type": item.type, "prompt": item.prompt, "points": item.points}
    if isinstance(item, SingleChoice | MultipleChoice):
        out["options"] = [{"letter": LETTERS[i], "text": t} for i, t in enumerate(item.options)]
        out["answer_format"] = (
            'one letter, e.g. "A"'
            if isinstance(item, SingleChoice)
            else 'a list of letters, e.g. ["A", "C"]'
        )
    elif isinstance(item, NumericItem):
        variant = make_variant(item, student, course=course, attempt=attempt)
        out["prompt"] = variant.prompt
        out["parameters"] = dict(variant.params)
        out["unit"] = item.unit
        unit = f" in {item.unit}" if item.unit else ""
        out["answer_format"] = f"a number{unit}, written with digits (an exponent is fine)"
    elif isinstance(item, ConceptItem):
        out["answer_format"] = "a few sentences of free text"
    out["hint"] = item.hint
    return out


def build_paper(
    bank: Bank,
    student: str,
    *,
    course: str = DEFAULT_COURSE,
    attempt: int = 0,
    items: Sequence[str] | None = None,
) -> dict:
    """The paper of ``student`` for ``bank`` (all items, or those with ids in ``items``)."""
    chosen = bank.items if items is None else [bank.item(i) for i in items]
    questions = [paper_item(it, student, course=course, attempt=attempt) for it in chosen]
    return {
        "bank": bank.topic,
        "title": bank.title,
        "course": course,
        "student": student,
        "attempt": attempt,
        "instructions": (
            "Answer every item in the format it asks for, then submit the JSON object under "
            "'submission' with your answers filled in."
        ),
        "items": questions,
        "submission": {
            "student": student,
            "attempt": attempt,
            "answers": {q["id"]: None for q in questions},
        },
    }
