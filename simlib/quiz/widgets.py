"""Quizzes and flashcards as ipywidgets (JupyterLab, Voila, and headless nbclient runs).

- :func:`show_quiz` renders a bank's items (or some of them): an input per item, a **Check**
  button, and feedback in words ("Correct: ...", "Not quite: ...", "3/4 concepts ...") with a
  running score. Nothing relies on colour.
- :func:`show_flashcards` shows a deck's due cards: **Show answer** flips the card, then
  **Again / Hard / Good / Easy** rate it; FSRS schedules it and the state is saved at once.

Every control is a button, radio group, check box or text box, so Tab, Space, Enter and the
arrow keys work. The grading happens in Python; the keys never reach the page.

Example (in a notebook cell)::

    from simlib.quiz import show_quiz
    show_quiz("data_parallelism", items=["dp-ring-allreduce-ms", "dp-what-is-replicated"])
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import datetime

import ipywidgets as widgets

from simlib.quiz.bank import load_bank, load_deck
from simlib.quiz.cards import RATINGS, ReviewState
from simlib.quiz.grading import ItemResult, grade_answer
from simlib.quiz.paper import paper_item
from simlib.quiz.schema import MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.variants import DEFAULT_COURSE

__all__ = ["FlashcardWidget", "ItemWidget", "QuizWidget", "show_flashcards", "show_quiz"]

_WIDE = widgets.Layout(width="95%")


def _p(text: str, role: str = "") -> str:
    attr = f' role="{role}" aria-live="polite"' if role else ""
    return f"<p{attr}>{html.escape(text)}</p>"


def _input_for(item, shown: dict):
    if isinstance(item, SingleChoice):
        labels = [(f"{o['letter']}) {o['text']}", o["letter"]) for o in shown["options"]]
        return widgets.RadioButtons(options=labels, value=None, layout=_WIDE)
    if isinstance(item, MultipleChoice):
        boxes = [
            widgets.Checkbox(description=f"{o['letter']}) {o['text']}", indent=False, layout=_WIDE)
            for o in shown["options"]
        ]
        return widgets.VBox(boxes)
    if isinstance(item, NumericItem):
        unit = f" ({item.unit})" if item.unit else ""
        return widgets.Text(placeholder=f"a number{unit}, e.g. 12.5", description="Answer:")
    return widgets.Textarea(placeholder="Explain in a few sentences.", layout=_WIDE, rows=4)


class ItemWidget(widgets.VBox):
    """One item: prompt, input, a Check button and feedback in words."""

    def __init__(
        self,
        item,
        *,
        number: int | None = None,
        student: str = "guest",
        course: str = DEFAULT_COURSE,
        attempt: int = 0,
        on_check: Callable[[ItemWidget], None] | None = None,
    ):
        super().__init__()
        self.item, self.student, self.course, self.attempt = item, student, course, attempt
        self.result: ItemResult | None = None
        self._on_check = on_check
        shown = paper_item(item, student, course=course, attempt=attempt)
        label = f"Question {number}. " if number else ""
        self.prompt = widgets.HTML(_p(label + shown["prompt"]))
        self.answer_input = _input_for(item, shown)
        self.check_button = widgets.Button(description="Check", tooltip="Check your answer")
        self.feedback = widgets.HTML("")
        self.check_button.on_click(lambda _b: self.check())
        self.children = [self.prompt, self.answer_input, self.check_button, self.feedback]

    def answer(self):
        """The answer as entered: a letter, a list of letters or text (None if empty)."""
        box = self.answer_input
        if isinstance(self.item, MultipleChoice):
            return [c.description[0] for c in box.children if c.value] or None
        return box.value or None

    def set_answer(self, value) -> None:
        """Enter an answer programmatically (for demonstrations and tests)."""
        if isinstance(self.item, MultipleChoice):
            for c in self.answer_input.children:
                c.value = c.description[0] in value
        else:
            self.answer_input.value = value if isinstance(self.item, SingleChoice) else str(value)

    def check(self) -> ItemResult:
        """Grade the current answer, show the feedback and return the result."""
        self.result = grade_answer(
            self.item, self.answer(), student=self.student, course=self.course, attempt=self.attempt
        )
        verdict = (
            "Correct."
            if self.result.correct
            else ("Partly right." if self.result.score > 0 else "Not yet right.")
        )
        score = f" ({self.result.score:.3g} of {self.result.points:g} points)"
        self.feedback.value = _p(f"{verdict}{score} {self.result.feedback}", role="status")
        if self._on_check:
            self._on_check(self)
        return self.result


class QuizWidget(widgets.VBox):
    """Several items with a running score."""

    def __init__(
        self,
        items: Sequence,
        *,
        title: str = "",
        student: str = "guest",
        course: str = DEFAULT_COURSE,
        attempt: int = 0,
    ):
        super().__init__()
        self.items = [
            ItemWidget(
                it,
                number=i,
                student=student,
                course=course,
                attempt=attempt,
                on_check=lambda _w: self._update(),
            )
            for i, it in enumerate(items, 1)
        ]
        self.title = widgets.HTML(f"<h3>{html.escape(title)}</h3>" if title else "")
        self.score = widgets.HTML("")
        self._update()
        self.children = [self.title, *self.items, self.score]

    def _update(self) -> None:
        done = [w.result for w in self.items if w.result is not None]
        total = sum(w.item.points for w in self.items)
        got = sum(r.score for r in done)
        self.score.value = _p(
            f"Score so far: {got:.3g} of {total:g} points "
            f"({len(done)} of {len(self.items)} checked).",
            role="status",
        )


def show_quiz(
    topic: str,
    items: Sequence[str] | None = None,
    *,
    student: str = "guest",
    course: str = DEFAULT_COURSE,
    attempt: int = 0,
    title: str | None = None,
) -> QuizWidget:
    """A quiz widget for bank ``topic`` (all items, or the ids in ``items``), ready to display."""
    bank = load_bank(topic)
    chosen = bank.items if items is None else [bank.item(i) for i in items]
    return QuizWidget(
        chosen,
        title=bank.title if title is None else title,
        student=student,
        course=course,
        attempt=attempt,
    )


class FlashcardWidget(widgets.VBox):
    """Due cards of a deck, one at a time: Show answer, then rate; FSRS state saved each time."""

    def __init__(self, state: ReviewState, *, now: datetime | None = None, limit: int = 20):
        super().__init__()
        self.state, self.now, self.limit = state, now, limit
        self.front, self.back, self.status = widgets.HTML(), widgets.HTML(), widgets.HTML()
        self.flip_button = widgets.Button(description="Show answer", tooltip="Turn the card over")
        self.flip_button.on_click(lambda _b: self.flip())
        self.rating_buttons = [
            widgets.Button(
                description=name.capitalize(), disabled=True, tooltip=f"Rate {value}: {name}"
            )
            for name, value in RATINGS.items()
        ]
        for button, value in zip(self.rating_buttons, RATINGS.values(), strict=True):
            button.on_click(lambda _b, v=value: self.rate(v))
        self.queue = state.due(now, new_limit=limit)[:limit]
        self.children = [
            self.front,
            self.flip_button,
            self.back,
            widgets.HBox(self.rating_buttons),
            self.status,
        ]
        self._show()

    @property
    def current(self):
        return self.queue[0] if self.queue else None

    def _show(self) -> None:
        card = self.current
        self.back.value = ""
        for b in self.rating_buttons:
            b.disabled = True
        self.flip_button.disabled = card is None
        stats = self.state.stats(self.now)
        self.front.value = _p(f"Front: {card.front}") if card else _p("All done for now.")
        self.status.value = _p(
            f"{len(self.queue)} card(s) left in this session; {stats['new']} new "
            f"in the deck; next due: {stats['next_due'] or 'none'}.",
            role="status",
        )

    def flip(self) -> None:
        """Show the back of the current card and enable the rating buttons."""
        if self.current is None:
            return
        self.back.value = _p(f"Back: {self.current.back}", role="status")
        for b in self.rating_buttons:
            b.disabled = False

    def rate(self, rating: int | str) -> None:
        """Rate the current card (1-4 or again/hard/good/easy), save, and show the next one."""
        if self.current is None:
            return
        self.state.review(self.current.id, rating, self.now)
        self.queue.pop(0)
        self._show()


def show_flashcards(
    deck: str = "basics", *, now: datetime | None = None, limit: int = 20
) -> FlashcardWidget:
    """A flashcard widget for ``deck``; review state lives in the state folder (FSRS)."""
    return FlashcardWidget(ReviewState(load_deck(deck)), now=now, limit=limit)
