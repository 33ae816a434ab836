"""How far a bank can be answered without knowing anything: test-taking strategies, graded.

Two strategies a student can play on the choice items of a bank, in the authored order (which
is what self-study shows; per-student papers shuffle it further, see :mod:`simlib.quiz.order`):

- **same letter**: answer one letter everywhere (``"B"`` on single items, ``["B"]`` on multiple
  ones); the best letter's score is reported;
- **longest option**: pick the longest option text (on multiple items, that option alone).

Each is graded by the real grader and reported as a share of the bank's choice points. A fair
bank keeps both at or under :data:`MAX_STRATEGY_SHARE` (35%): with four options, chance is 25%.

Options move between letters on per-student papers, so a choice item's options, feedback and
explanation must not name an option by its letter ("option B", "answers A and C"):
:func:`letter_references` lists the places that do, and ``simlib quiz check`` fails on them.

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> scores = strategy_scores(load_bank("basics"))
    >>> 0.0 <= scores.same_letter_share <= 1.0
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simlib.quiz.grading import grade_answer
from simlib.quiz.schema import LETTERS, Bank, MultipleChoice, SingleChoice

__all__ = ["MAX_STRATEGY_SHARE", "StrategyScores", "letter_references", "strategy_scores"]

MAX_STRATEGY_SHARE = 0.35


@dataclass(frozen=True)
class StrategyScores:
    """What the two strategies score on one bank's choice items (points and shares)."""

    bank: str
    choice_points: float
    same_letter: str
    same_letter_points: float
    longest_points: float

    @property
    def same_letter_share(self) -> float:
        return self.same_letter_points / self.choice_points if self.choice_points else 0.0

    @property
    def longest_share(self) -> float:
        return self.longest_points / self.choice_points if self.choice_points else 0.0

    @property
    def fair(self) -> bool:
        worst = max(self.same_letter_share, self.longest_share)
        return worst <= MAX_STRATEGY_SHARE + 1e-12


def _answer(item, letter: str):
    return [letter] if isinstance(item, MultipleChoice) else letter


def strategy_scores(bank: Bank) -> StrategyScores:
    """Grade the "same letter" and "longest option" strategies on ``bank``'s choice items."""
    items = [it for it in bank.items if isinstance(it, SingleChoice | MultipleChoice)]
    total = sum(it.points for it in items)
    by_letter = {}
    for letter in LETTERS:
        by_letter[letter] = sum(
            grade_answer(it, _answer(it, letter)).score
            for it in items
            if LETTERS.index(letter) < len(it.options)
        )
    best = max(by_letter, key=lambda k: (by_letter[k], -LETTERS.index(k)))
    longest = 0.0
    for it in items:
        index = max(range(len(it.options)), key=lambda i: len(it.options[i]))
        longest += grade_answer(it, _answer(it, LETTERS[index])).score
    return StrategyScores(bank.topic, total, best, by_letter[best], longest)


_LETTER_REF = re.compile(
    r"\b(?:options?|answers?|choices?|letters?)\s+\(?[A-H]\)?(?:\s*(?:,|and|or)\s*\(?[A-H]\)?)*"
    r"(?![\w'])"
)


def letter_references(bank: Bank) -> list[tuple[str, str, str]]:
    """(item id, field, text) of each place a choice item names an option by its letter.

    >>> from simlib.quiz.schema import SingleChoice
    >>> item = SingleChoice(id="q", type="single", prompt="?", options=("x", "y"), answer="A",
    ...                     explanation="Unlike option B, x is right.")
    >>> letter_references(Bank(topic="t", title="T", items=(item,)))
    [('q', 'explanation', 'option B')]
    """
    found = []
    for item in bank.items:
        if not isinstance(item, SingleChoice | MultipleChoice):
            continue
        fields = [("prompt", item.prompt), ("explanation", item.explanation or "")]
        fields += [(f"options[{LETTERS[i]}]", t) for i, t in enumerate(item.options)]
        fields += [(f"feedback[{k}]", v) for k, v in item.feedback.items()]
        for name, text in fields:
            found += [(item.id, name, m.group(0)) for m in _LETTER_REF.finditer(text)]
    return found
