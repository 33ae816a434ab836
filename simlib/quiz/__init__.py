"""Question banks, per-student numeric variants, concept grading and FSRS flashcards.

Banks and decks are YAML under ``quizzes/`` (see :mod:`simlib.quiz.schema`). Numeric items name
a registered simlib function (:mod:`simlib.quiz.functions`); their keys are computed for each
student's seeded variant. Free text is graded by concepts, offline and deterministically.

End of a notebook::

    from simlib.quiz import show_quiz
    show_quiz("data_parallelism", items=["dp-ring-allreduce-ms", "dp-what-is-replicated"])

The widgets (ipywidgets) and the Anki export (genanki) are imported only when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

from simlib.quiz.bank import bank_names, deck_names, load_bank, load_deck, parse_bank, parse_deck
from simlib.quiz.cards import ReviewState, parse_rating
from simlib.quiz.concepts import ConceptResult, grade_concepts
from simlib.quiz.errors import BankError, QuizError, StateError, SubmissionError
from simlib.quiz.functions import FUNCTIONS, TRANSFORMS
from simlib.quiz.gradebook import Gradebook, grade_class, write_class_json, write_csv
from simlib.quiz.grading import ItemResult, SubmissionResult, grade_answer, grade_submission
from simlib.quiz.paper import build_paper
from simlib.quiz.schema import Bank, Card, Deck
from simlib.quiz.submissions import Submission, load_submissions, parse_submission
from simlib.quiz.variants import Variant, make_variant, mistake_value, seed_for

__all__ = [
    "FUNCTIONS",
    "TRANSFORMS",
    "Bank",
    "BankError",
    "Card",
    "ConceptResult",
    "Deck",
    "FlashcardWidget",
    "Gradebook",
    "ItemResult",
    "ItemWidget",
    "QuizError",
    "QuizWidget",
    "ReviewState",
    "StateError",
    "Submission",
    "SubmissionError",
    "SubmissionResult",
    "Variant",
    "bank_names",
    "build_paper",
    "deck_names",
    "export_anki",
    "grade_answer",
    "grade_class",
    "grade_concepts",
    "grade_submission",
    "load_bank",
    "load_deck",
    "load_submissions",
    "make_variant",
    "mistake_value",
    "parse_bank",
    "parse_deck",
    "parse_rating",
    "parse_submission",
    "review_in_terminal",
    "seed_for",
    "show_flashcards",
    "show_quiz",
    "take_in_terminal",
    "write_class_json",
    "write_csv",
]

_LAZY = {
    "FlashcardWidget": "simlib.quiz.widgets",
    "ItemWidget": "simlib.quiz.widgets",
    "QuizWidget": "simlib.quiz.widgets",
    "show_flashcards": "simlib.quiz.widgets",
    "show_quiz": "simlib.quiz.widgets",
    "export_anki": "simlib.quiz.export",
    "review_in_terminal": "simlib.quiz.terminal",
    "take_in_terminal": "simlib.quiz.terminal",
}


def __getattr__(name: str) -> Any:
    """Import the widget, export and terminal helpers on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simlib.quiz' has no attribute {name!r}")
