"""A student's paper: the questions of their variant, and nothing that gives an answer away.

A paper holds each item's id, type, prompt (numbers filled in for this student), options,
parameters, unit, points and the expected answer format, plus a submission template to fill
in. It never holds keys, correct letters, explanations, option feedback, concepts,
misconceptions, model answers, mistakes or the function that computes the key, and never the
course secret: it carries a ``paper_id`` instead (:func:`simlib.quiz.order.paper_id`, an HMAC
of bank, student and attempt under the secret), which the teacher's grader recomputes to check
that a submission answers the paper it claims to.

Choice options appear in the student's own order (:func:`simlib.quiz.order.presented`), so two
students' papers show the same options under different letters; the grader maps each letter
back through the same order.

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> paper = build_paper(load_bank("basics"), "ada", course="secret")
    >>> sorted(paper["items"][0])
    ['answer_format', 'hint', 'id', 'options', 'points', 'prompt', 'type']
    >>> "secret" in str(paper), len(paper["paper_id"])
    (False, 16)
"""

from __future__ import annotations

from collections.abc import Sequence

from simlib.quiz.order import paper_id, presented
from simlib.quiz.schema import LETTERS, Bank, ConceptItem, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.variants import DEFAULT_COURSE, make_variant

__all__ = ["build_paper", "paper_check", "paper_item"]


def paper_item(item, student: str, *, course: str = DEFAULT_COURSE, attempt: int = 0) -> dict:
    """What a student sees of one item, with options in the order ``item`` has them.

    Pass ``presented(item, student=..., course=..., attempt=...)`` to show a student's own
    option order (as :func:`build_paper` does); ``student`` here seeds numeric variants only.
    """
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
    """The paper of ``student`` for ``bank`` (all items, or those with ids in ``items``).

    ``course`` is the course secret: it seeds the variants and option orders and is not written
    into the paper (the paper carries its ``paper_id``).
    """
    chosen = bank.items if items is None else [bank.item(i) for i in items]
    questions = [
        paper_item(
            presented(it, student=student, course=course, attempt=attempt),
            student,
            course=course,
            attempt=attempt,
        )
        for it in chosen
    ]
    pid = paper_id(course, bank.topic, student, attempt)
    return {
        "bank": bank.topic,
        "title": bank.title,
        "paper_id": pid,
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
            "paper_id": pid,
            "answers": {q["id"]: None for q in questions},
        },
    }


def paper_check(bank: Bank, course: str = DEFAULT_COURSE):
    """A check for :func:`simlib.quiz.submissions.load_submissions`: a submission that carries a
    ``paper_id`` must carry the id of its own student's paper of ``bank`` under ``course``.

    A mismatch means the wrong ``--course`` secret (every paper then mismatches), another bank,
    or a student or attempt edited in the file. A submission without a paper id is accepted.

    Example:
        >>> from simlib.quiz.bank import load_bank
        >>> from simlib.quiz.submissions import Submission
        >>> bank = load_bank("basics")
        >>> sub = Submission(student="ada", answers={}, paper_id=paper_id("k", "basics", "ada", 0))
        >>> paper_check(bank, "k")(sub) is None, paper_check(bank, "other")(sub) is None
        (True, False)
    """

    def check(sub) -> str | None:
        if sub.paper_id is None:
            return None
        if sub.paper_id == paper_id(course, bank.topic, sub.student, sub.attempt):
            return None
        return (
            f"field paper_id: {sub.paper_id!r} is not the paper of student {sub.student!r}, "
            f"attempt {sub.attempt}, for bank {bank.topic!r} under this --course; give the "
            "secret the papers were written with, and check that student and attempt were "
            "not edited"
        )

    return check
