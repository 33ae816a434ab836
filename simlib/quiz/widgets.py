"""Quizzes and flashcards as ipywidgets (JupyterLab, Voila, and headless nbclient runs).

- :func:`show_quiz` renders a bank's items (or some of them): an input per item, **Check** and
  **Show answer** buttons, and feedback in words ("Correct: ...", "Not yet right ...",
  "3/4 concepts ...") with a running score. The score counts each item's first check; the
  answer is shown after a second wrong check or on **Show answer**, and a shown answer earns
  nothing. Given a student, a quiz shows that student's option order. Nothing relies on colour.
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

from simlib.quiz.answers import SELF_STUDY, read_answer
from simlib.quiz.bank import load_bank, load_deck
from simlib.quiz.cards import RATINGS, ReviewState
from simlib.quiz.grading import ItemResult, grade_answer
from simlib.quiz.order import presented
from simlib.quiz.schema import LETTERS, MultipleChoice, NumericItem, SingleChoice
from simlib.quiz.variants import DEFAULT_COURSE, format_number, make_variant

__all__ = ["FlashcardWidget", "ItemWidget", "QuizWidget", "show_flashcards", "show_quiz"]

_WIDE = widgets.Layout(width="95%")


def _p(text: str, role: str = "") -> str:
    attr = f' role="{role}" aria-live="polite"' if role else ""
    return f"<p{attr}>{html.escape(text)}</p>"


def _input_for(view):
    if isinstance(view, SingleChoice):
        labels = [(f"{LETTERS[i]}) {text}", LETTERS[i]) for i, text in enumerate(view.options)]
        return widgets.RadioButtons(options=labels, value=None, layout=_WIDE)
    if isinstance(view, MultipleChoice):
        boxes = [
            widgets.Checkbox(description=f"{LETTERS[i]}) {text}", indent=False, layout=_WIDE)
            for i, text in enumerate(view.options)
        ]
        return widgets.VBox(boxes)
    if isinstance(view, NumericItem):
        unit = f" in {view.unit}" if view.unit else ""
        return widgets.Text(placeholder=f"a number{unit}, e.g. 12.5", description="Answer:")
    return widgets.Textarea(placeholder="Explain in a few sentences.", layout=_WIDE, rows=4)


def _verdict(result: ItemResult) -> str:
    if result.correct:
        return "Correct."
    return "Partly right." if result.score > 0 else "Not yet right."


class ItemWidget(widgets.VBox):
    """One item: prompt, input, **Check** and **Show answer** buttons, and feedback in words.

    Only the first check is scored (:attr:`earned`). A wrong first check says what was wrong
    without giving the answer away; the answer is shown after a second wrong check or on
    **Show answer**, and an answer shown before any check earns nothing. An answer that cannot
    be read (empty, ``"19,25"``, a time typed in GB) is not a check: it costs nothing.
    With a ``student``, the options come in that student's order (:func:`presented`).
    """

    def __init__(
        self,
        item,
        *,
        number: int | None = None,
        student: str | None = None,
        course: str = DEFAULT_COURSE,
        attempt: int = 0,
        on_check: Callable[[ItemWidget], None] | None = None,
    ):
        super().__init__()
        self.item, self.student, self.course, self.attempt = item, student, course, attempt
        self.view = presented(item, student=student, course=course, attempt=attempt)
        self._seed_student = SELF_STUDY if student is None else student
        self.result: ItemResult | None = None
        self.first: ItemResult | None = None
        self.wrong_checks = 0
        self.revealed = False
        self._on_check = on_check
        prompt = self.view.prompt
        if isinstance(self.view, NumericItem):
            prompt = make_variant(
                self.view, self._seed_student, course=course, attempt=attempt
            ).prompt
        label = f"Question {number}. " if number else ""
        self.prompt = widgets.HTML(_p(label + prompt))
        self.answer_input = _input_for(self.view)
        self.check_button = widgets.Button(description="Check", tooltip="Check your answer")
        self.show_button = widgets.Button(
            description="Show answer", tooltip="Show the answer (a shown answer earns nothing)"
        )
        self.feedback = widgets.HTML("")
        self.check_button.on_click(lambda _b: self.check())
        self.show_button.on_click(lambda _b: self.show_answer())
        buttons = widgets.HBox([self.check_button, self.show_button])
        self.children = [self.prompt, self.answer_input, buttons, self.feedback]

    @property
    def earned(self) -> float | None:
        """Points this item counts: the first check's, 0 if the answer was shown first."""
        return None if self.first is None else self.first.score

    def answer(self):
        """The answer as entered: a letter, a list of letters or text (None if empty)."""
        box = self.answer_input
        if isinstance(self.item, MultipleChoice):
            return [c.description[0] for c in box.children if c.value] or None
        return box.value or None

    def set_answer(self, value) -> None:
        """Enter an answer programmatically, letters as shown (for demonstrations and tests)."""
        if isinstance(self.item, MultipleChoice):
            for c in self.answer_input.children:
                c.value = c.description[0] in value
        else:
            self.answer_input.value = value if isinstance(self.item, SingleChoice) else str(value)

    def _grade(self, value) -> ItemResult:
        return grade_answer(
            self.view, value, student=self._seed_student, course=self.course, attempt=self.attempt
        )

    def _say(self, text: str) -> None:
        self.feedback.value = _p(text, role="status")
        if self._on_check:
            self._on_check(self)

    def check(self) -> ItemResult:
        """Grade the current answer, show the feedback and return the result.

        An unreadable answer returns a zero result and changes nothing else.
        """
        raw = self.answer()
        text = ", ".join(raw) if isinstance(raw, list) else raw
        reading = read_answer(self.view, text)
        if not reading.ok:
            if raw is None:
                self._say("No answer given.")
                return ItemResult(self.item.id, 0.0, self.item.points, False, "No answer given.")
            why = f"Could not read that: {reading.problem}. Try again; this costs nothing."
            self._say(why)
            return ItemResult(self.item.id, 0.0, self.item.points, False, why)
        self.result = self._grade(reading.value)
        if self.first is None:
            self.first = self.result
        self.wrong_checks += not self.result.correct
        if not (self.result.correct or self.revealed or self.wrong_checks >= 2):
            said = self._nudge(self.result, reading.value)
        else:
            self.revealed = self.revealed or not self.result.correct
            said = self.result.feedback
        self._say(f"{_verdict(self.result)} {self._scored()} {said}")
        return self.result

    def _scored(self) -> str:
        earned = self.earned or 0.0
        practice = (
            " (practice: only your first check counts)" if self.first is not self.result else ""
        )
        return f"Scored {earned:.3g} of {self.item.points:g} points{practice}."

    def _nudge(self, result: ItemResult, value) -> str:
        """Feedback on a wrong first check that does not give the answer away."""
        details = result.details
        if isinstance(self.view, SingleChoice):
            said = f"You chose {details.get('chosen', '?')}."
        elif isinstance(self.view, MultipleChoice):
            key, chosen = set(details.get("answer", ())), set(details.get("chosen", ()))
            said = f"{len(chosen & key)} of your {len(chosen)} choice(s) are right."
        elif isinstance(self.view, NumericItem):
            unit = f" {self.view.unit}" if self.view.unit else ""
            said = f"You gave {format_number(value)}{unit}."
            said += "".join(
                f" {self.view.mistakes[i].feedback}" for i in details.get("mistakes", ())
            )
        else:
            said = result.feedback
        hint = f" Hint: {self.item.hint}" if self.item.hint else ""
        return f"{said}{hint} Try once more, or press Show answer."

    def show_answer(self) -> str:
        """Show the answer; before any check the item is scored 0 (a shown answer earns nothing)."""
        if self.first is None:
            self.first = ItemResult(self.item.id, 0.0, self.item.points, False, "answer shown")
        self.revealed = True
        text = f"The answer: {self._key_text()} {self._scored()}"
        self._say(text)
        return text

    def _key_text(self) -> str:
        view = self.view
        if isinstance(view, SingleChoice):
            shown = f"{view.answer}) {view.options[LETTERS.index(view.answer)]}"
        elif isinstance(view, MultipleChoice):
            shown = "; ".join(f"{a}) {view.options[LETTERS.index(a)]}" for a in view.answer)
        elif isinstance(view, NumericItem):
            key = make_variant(
                view, self._seed_student, course=self.course, attempt=self.attempt
            ).key
            shown = f"{format_number(key)}{' ' + view.unit if view.unit else ''}"
        else:
            shown = view.model_answer or "; ".join(c.name for c in view.concepts)
        return f"{shown}. {view.explanation}".strip()


class QuizWidget(widgets.VBox):
    """Several items with a running score (each item counts its first check)."""

    def __init__(
        self,
        items: Sequence,
        *,
        title: str = "",
        student: str | None = None,
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
        done = [w.earned for w in self.items if w.earned is not None]
        total = sum(w.item.points for w in self.items)
        self.score.value = _p(
            f"Score so far: {sum(done):.3g} of {total:g} points "
            f"({len(done)} of {len(self.items)} checked).",
            role="status",
        )


def show_quiz(
    topic: str,
    items: Sequence[str] | None = None,
    *,
    student: str | None = None,
    course: str = DEFAULT_COURSE,
    attempt: int = 0,
    title: str | None = None,
) -> QuizWidget:
    """A quiz widget for bank ``topic`` (all items, or the ids in ``items``), ready to display.

    Without a ``student`` (self-study) options are in the authored order and numeric items use
    the ``guest`` variant; with one, that student's option order and variant.
    """
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
