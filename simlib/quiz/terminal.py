"""Take a quiz or review flashcards in a terminal (``simlib quiz take``, ``simlib cards review``).

Both read answers with ``ask`` (default :func:`input`) and write with ``say`` (default
:func:`print`), so tests and scripts can drive them. End of input, ``:q`` or Ctrl-C stops early;
what was answered or rated so far counts (ratings are saved as they are given).

A quiz answer is read (:mod:`simlib.quiz.answers`) before it is graded: one that cannot be read
(``"Z"``, ``"19,25"``, a time given in GB) is asked again and costs nothing; numbers may carry
a unit (``0.01925 s`` for an item in ms). :meth:`TakenQuiz.submission` is the JSON that
``simlib quiz grade`` accepts, with letters as this student saw them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simlib.quiz.answers import SELF_STUDY, answer_format, read_answer
from simlib.quiz.cards import RATINGS, ReviewState, parse_rating
from simlib.quiz.errors import QuizError, SubmissionError
from simlib.quiz.grading import ItemResult, grade_answer
from simlib.quiz.order import presented
from simlib.quiz.schema import LETTERS, Bank, NumericItem
from simlib.quiz.variants import DEFAULT_COURSE, make_variant

__all__ = ["TakenQuiz", "review_in_terminal", "take_in_terminal"]

QUIT = ":q"
Ask = Callable[[str], str]
Say = Callable[[str], None]


@dataclass(frozen=True)
class TakenQuiz:
    """What a student answered and earned in one sitting (read like a SubmissionResult).

    ``answers`` holds, per item asked, what was read (letters as the student saw them, numbers
    in the item's unit, text), or None for an item not reached; ``stopped`` is True when the
    student left early (``:q``, end of input or Ctrl-C).
    """

    student: str | None
    attempt: int
    items: tuple[ItemResult, ...]
    answers: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False

    @property
    def score(self) -> float:
        return sum(r.score for r in self.items)

    @property
    def max_score(self) -> float:
        return sum(r.points for r in self.items)

    def submission(self) -> dict:
        """The submission ``simlib quiz grade`` reads (:mod:`simlib.quiz.submissions`)."""
        if self.student is None:
            raise SubmissionError(
                "a submission needs a student id; take the quiz with --student ID"
            )
        return {"student": self.student, "attempt": self.attempt, "answers": dict(self.answers)}


def _read(ask: Ask, prompt: str) -> str | None:
    """One line from ``ask``; None when the student stops (``:q``, end of input, Ctrl-C)."""
    try:
        text = ask(prompt)
    except (EOFError, KeyboardInterrupt):
        return None
    return None if text.strip() == QUIT else text


def _show(say: Say, number: int, total: int, view, prompt: str) -> None:
    say(f"\n[{number}/{total}] {prompt}")
    for letter, text in zip(LETTERS, getattr(view, "options", ()), strict=False):
        say(f"  {letter}) {text}")
    say(f"  (answer: {answer_format(view)}; {QUIT} to stop)")


def _ask_until_read(ask: Ask, say: Say, view):
    """Ask until the answer can be read (a typo costs nothing); None when the student stops."""
    while True:
        raw = _read(ask, "> ")
        if raw is None:
            return None
        reading = read_answer(view, raw)
        if reading.ok:
            return reading
        say(f"  Could not read that: {reading.problem}. Try again; this costs nothing.")


def take_in_terminal(
    bank: Bank,
    student: str | None = None,
    *,
    course: str = DEFAULT_COURSE,
    attempt: int = 0,
    items: Sequence[str] | None = None,
    ask: Ask = input,
    say: Say = print,
) -> TakenQuiz:
    """Ask each item, grade it at once, say the feedback; return what was answered and earned.

    With a ``student``, choice options come in that student's order (:func:`presented`) and
    numeric items in that student's variant; without one (self-study), the authored order and
    the ``guest`` variant. An answer that cannot be read is asked again at no cost; ``:q``, end
    of input or Ctrl-C stop, and everything answered so far is kept.
    """
    chosen = bank.items if items is None else [bank.item(i) for i in items]
    seed_student = SELF_STUDY if student is None else student
    answers: dict[str, Any] = {item.id: None for item in chosen}
    results: list[ItemResult] = []
    stopped = False
    try:
        for number, item in enumerate(chosen, 1):
            view = presented(item, student=student, course=course, attempt=attempt)
            prompt = view.prompt
            if isinstance(view, NumericItem):
                prompt = make_variant(view, seed_student, course=course, attempt=attempt).prompt
            _show(say, number, len(chosen), view, prompt)
            reading = _ask_until_read(ask, say, view)
            if reading is None:
                stopped = True
                break
            answers[item.id] = reading.value
            result = grade_answer(
                view, reading.value, student=seed_student, course=course, attempt=attempt
            )
            say(result.feedback)
            results.append(result)
    except KeyboardInterrupt:
        stopped = True
    if stopped:
        say("Stopped. Your answers so far are kept.")
    taken = TakenQuiz(student, attempt, tuple(results), answers, stopped)
    say(f"\nScore: {taken.score:g} of {taken.max_score:g} points ({len(results)} items answered).")
    return taken


def _rating(ask: Ask, say: Say) -> int | None:
    while True:
        raw = _read(ask, "How well did you know it? 1 again, 2 hard, 3 good, 4 easy: ")
        if raw is None:
            return None
        try:
            return int(parse_rating(raw))
        except QuizError as exc:
            say(str(exc))


def review_in_terminal(
    state: ReviewState,
    *,
    limit: int = 20,
    now: datetime | None = None,
    ask: Ask = input,
    say: Say = print,
) -> dict:
    """Show each due card's front, then its back, and record the rating; return the stats."""
    due = state.due(now, new_limit=limit)[:limit]
    if not due:
        say(f"Nothing due in {state.deck.title!r}. Come back later.")
    names = {v: k for k, v in RATINGS.items()}
    for number, card in enumerate(due, 1):
        say(f"\n[{number}/{len(due)}] {card.front}")
        if _read(ask, f"(Enter shows the answer, {QUIT} stops) ") is None:
            say("Stopped.")
            break
        say(f"  -> {card.back}")
        rating = _rating(ask, say)
        if rating is None:
            say("Stopped.")
            break
        updated = state.review(card.id, rating, now)
        say(f"  rated {names[rating]}; next review {updated.due:%Y-%m-%d %H:%M} UTC")
    return state.stats(now)
