"""Take a quiz or review flashcards in a terminal (``simlib quiz take``, ``simlib cards review``).

Both read answers with ``ask`` (default :func:`input`) and write with ``say`` (default
:func:`print`), so tests and scripts can drive them. End of input or ``:q`` stops early; what
was answered or rated so far counts (ratings are saved as they are given).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from simlib.quiz.cards import RATINGS, ReviewState, parse_rating
from simlib.quiz.errors import QuizError
from simlib.quiz.grading import SubmissionResult, grade_answer
from simlib.quiz.paper import paper_item
from simlib.quiz.schema import Bank, MultipleChoice
from simlib.quiz.variants import DEFAULT_COURSE

__all__ = ["review_in_terminal", "take_in_terminal"]

QUIT = ":q"
Ask = Callable[[str], str]
Say = Callable[[str], None]


def _read(ask: Ask, prompt: str) -> str | None:
    try:
        text = ask(prompt)
    except EOFError:
        return None
    return None if text.strip() == QUIT else text


def _show(say: Say, number: int, total: int, shown: dict) -> None:
    say(f"\n[{number}/{total}] {shown['prompt']}")
    for option in shown.get("options", []):
        say(f"  {option['letter']}) {option['text']}")
    say(f"  (answer: {shown['answer_format']}; {QUIT} to stop)")


def take_in_terminal(
    bank: Bank,
    student: str = "guest",
    *,
    course: str = DEFAULT_COURSE,
    attempt: int = 0,
    items: Sequence[str] | None = None,
    ask: Ask = input,
    say: Say = print,
) -> SubmissionResult:
    """Ask each item, grade it at once, and say the feedback; return what was graded."""
    chosen = bank.items if items is None else [bank.item(i) for i in items]
    results = []
    for number, item in enumerate(chosen, 1):
        _show(say, number, len(chosen), paper_item(item, student, course=course, attempt=attempt))
        answer = _read(ask, "> ")
        if answer is None:
            say("Stopped.")
            break
        if isinstance(item, MultipleChoice):
            answer = answer.replace(" ", "")
        result = grade_answer(item, answer, student=student, course=course, attempt=attempt)
        say(result.feedback)
        results.append(result)
    graded = SubmissionResult(student, attempt, tuple(results))
    say(
        f"\nScore: {graded.score:g} of {graded.max_score:g} points ({len(results)} items answered)."
    )
    return graded


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
