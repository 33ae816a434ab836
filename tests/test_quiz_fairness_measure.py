"""The strategy measure itself, on a bank small enough to score by hand."""

from __future__ import annotations

from simlib.quiz.bank import parse_bank
from simlib.quiz.fairness import strategy_scores

BANK = """
topic: tiny
title: Tiny
items:
  - id: one
    type: single
    prompt: Which?
    options: [short, a much longer option, mid option]
    answer: B
  - id: two
    type: single
    prompt: Which?
    options: [the longest option here, x, y]
    answer: C
  - id: three
    type: multiple
    prompt: Which?
    points: 2
    options: [aa, bbbbbbbb, c]
    answer: [A, C]
"""


def test_strategies_scored_by_hand():
    scores = strategy_scores(parse_bank(BANK))
    assert scores.choice_points == 4.0
    # "A" everywhere: 0 + 0 + 2 * (1 right - 0 wrong) / 2 = 1; "C": 0 + 1 + 1 = 2.
    assert scores.same_letter == "C" and scores.same_letter_points == 2.0
    # Longest: B on one (right, 1), A on two (wrong), B on three (wrong pick, 0).
    assert scores.longest_points == 1.0
    assert scores.same_letter_share == 0.5 and not scores.fair
