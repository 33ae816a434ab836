"""Every shipped bank is fair: no test-taking strategy beats the 35% gate on its choice items.

The strategies (answer one letter everywhere; pick the longest option) are graded by the real
grader in :func:`simlib.quiz.fairness.strategy_scores`. With four options chance is 25%; the
banks are authored to stay at or under 30%, so that the gate keeps some margin. The figures are
printed (``pytest -s``) for the README and the closing note.
"""

from __future__ import annotations

import re

import pytest

from simlib.quiz import bank_names, load_bank
from simlib.quiz.fairness import MAX_STRATEGY_SHARE, strategy_scores
from simlib.quiz.schema import LETTERS, MultipleChoice, SingleChoice


def _choice_items(bank):
    return [it for it in bank.items if isinstance(it, SingleChoice | MultipleChoice)]


def _keys(item) -> set[str]:
    return {item.answer} if isinstance(item, SingleChoice) else set(item.answer)


def test_print_the_figures_of_every_bank():
    rows = []
    for name in bank_names():
        s = strategy_scores(load_bank(name))
        rows.append(
            f"{name:<18} choice points {s.choice_points:4.0f}   same letter "
            f"({s.same_letter}) {s.same_letter_share:4.0%}   longest {s.longest_share:4.0%}"
        )
    print("\n" + "\n".join(rows))
    assert len(rows) == len(bank_names()) >= 9


@pytest.mark.parametrize("name", bank_names())
def test_strategies_stay_under_the_gate(name):
    scores = strategy_scores(load_bank(name))
    assert scores.choice_points >= 7, f"{name}: too few choice items for the gate to mean much"
    assert scores.same_letter_share <= MAX_STRATEGY_SHARE, (name, scores)
    assert scores.longest_share <= MAX_STRATEGY_SHARE, (name, scores)
    assert scores.fair


@pytest.mark.parametrize("name", bank_names())
def test_the_key_is_neither_mostly_longest_nor_mostly_shortest(name):
    """A key that is never the longest (or always the shortest) gives the answer away too."""
    items = _choice_items(load_bank(name))
    longest = shortest = 0
    for item in items:
        lengths = [len(o) for o in item.options]
        keys = {LETTERS.index(k) for k in _keys(item)}
        longest += lengths.index(max(lengths)) in keys
        shortest += any(lengths[k] == min(lengths) for k in keys)
    assert longest <= 0.3 * len(items), (name, longest, len(items))
    assert shortest <= 0.3 * len(items), (name, shortest, len(items))


@pytest.mark.parametrize("name", bank_names())
def test_options_and_feedback_do_not_point_at_letters(name):
    """Options are shuffled per student: no 'option B', 'A and C' or 'all of the above'."""
    letter = re.compile(r"\b([Oo]ption|[Aa]nswer|[Cc]hoice)s? [A-H]\b|\b[A-H] (and|or) [A-H]\b")
    above = re.compile(r"\b(all|none|both) of the (above|others)\b", re.IGNORECASE)
    for item in _choice_items(load_bank(name)):
        for text in (*item.options, *item.feedback.values(), item.explanation, item.hint):
            assert not letter.search(text) and not above.search(text), (item.id, text)
