"""The errors a quiz author, a student's submission or a damaged state file can cause.

Each is a :class:`simlib.errors.SimlibError`, so the CLI prints it as one line and exits with
status 2. Messages name the file, the item id and the field, and say how to fix it.
"""

from __future__ import annotations

from simlib.errors import ConfigError, SimlibError

__all__ = [
    "QuizError",
    "BankError",
    "RosterError",
    "SubmissionError",
    "StateError",
    "UnknownItemError",
]


class QuizError(SimlibError):
    """Something in a quiz, a deck or a review cannot be used as it is."""


class BankError(QuizError, ConfigError):
    """A question bank or flashcard deck (YAML) is malformed; names file, item and field."""


class SubmissionError(QuizError, ConfigError):
    """A student's submission (JSON) is malformed, oversized or names unknown things."""


class RosterError(QuizError, ConfigError):
    """A class roster (CSV), a student id or an answer-key file name cannot be used."""


class StateError(QuizError, ConfigError):
    """The saved flashcard review state cannot be read; names the file and the fix."""


class UnknownItemError(QuizError, KeyError):
    """An item or card id that the bank or deck does not have."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""
