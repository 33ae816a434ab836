"""Keyed seeds and per-student option orders: what a student sees cannot be computed by another.

Every per-student choice the course makes (a numeric variant's parameters, the order of a choice
item's options, a paper's id) is derived from an HMAC-SHA256 keyed with the course secret
(RFC 2104; :mod:`hmac`). Knowing every public input (bank, item, student names, attempt) but not
the secret, nobody can compute another student's variant or option order; the teacher, who holds
the secret, recomputes them all.

Self-study (no student) keeps the authored order, so notebooks and the book read as written.

An option order is a permutation ``order`` of the authored indices: the option shown at position
``i`` (letter ``LETTERS[i]``) is authored option ``order[i]``.

Example:
    >>> order = option_order("sync-bsp", 4, student="ada", course="secret", attempt=0)
    >>> sorted(order)
    [0, 1, 2, 3]
    >>> option_order("sync-bsp", 4, student=None, course="secret")
    (0, 1, 2, 3)
    >>> shown = to_shown("B", order)
    >>> to_authored(shown, order)
    'B'

A student's view of an item is the item with its options, key and per-option feedback moved to
the letters that student sees; grading that view with the shown letters is grading the student:

    >>> from simlib.quiz.bank import load_bank
    >>> item = load_bank("basics").item("basics-goal")
    >>> view = presented(item, student="ada", course="secret")
    >>> view.options[LETTERS.index(view.answer)] == item.options[LETTERS.index(item.answer)]
    True
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from simlib.quiz.schema import LETTERS, MultipleChoice, SingleChoice

__all__ = [
    "keyed_digest",
    "keyed_seed",
    "option_order",
    "paper_id",
    "presented",
    "reorder",
    "to_authored",
    "to_shown",
]

_SEP = "\x1f"


def keyed_digest(secret: str, *parts: object) -> bytes:
    """HMAC-SHA256 of ``parts`` (joined by an ASCII unit separator) under the key ``secret``."""
    message = _SEP.join(str(p) for p in parts).encode("utf-8")
    return hmac.new(str(secret).encode("utf-8"), message, hashlib.sha256).digest()


def keyed_seed(secret: str, *parts: object) -> int:
    """A 64-bit seed for ``numpy.random.default_rng`` from the keyed digest of ``parts``."""
    return int.from_bytes(keyed_digest(secret, *parts)[:8], "little")


def paper_id(secret: str, bank: str, student: str, attempt: int) -> str:
    """A paper's public id: 16 hex digits that identify it to the teacher and reveal no secret."""
    return keyed_digest(secret, "paper", bank, student, int(attempt)).hex()[:16]


def option_order(
    item_id: str, n_options: int, *, student: str | None, course: str, attempt: int = 0
) -> tuple[int, ...]:
    """The order in which ``student`` sees the ``n_options`` options of ``item_id``.

    Without a student (self-study) the authored order. Otherwise a Fisher-Yates shuffle
    (Knuth, TAOCP vol. 2, algorithm 3.4.2 P) whose draws are successive 32-bit words of the keyed
    digest of (``"options"``, student, item, attempt) under the course secret: step ``i`` swaps
    position ``i`` with ``word mod (i + 1)`` (a bias under 2e-9 per step). Eight options need
    seven words, 28 of the digest's 32 bytes; one HMAC per item, no generator to build.
    """
    if student is None:
        return tuple(range(n_options))
    if not 0 < n_options <= len(LETTERS):
        raise ValueError(f"{n_options} options: a choice item has 1 to {len(LETTERS)}")
    digest = keyed_digest(course, "options", student, item_id, int(attempt))
    order = list(range(n_options))
    for step, i in enumerate(range(n_options - 1, 0, -1)):
        j = int.from_bytes(digest[4 * step : 4 * step + 4], "little") % (i + 1)
        order[i], order[j] = order[j], order[i]
    return tuple(order)


def to_authored(shown_letter: str, order: Sequence[int]) -> str:
    """The authored letter of the option a student saw under ``shown_letter``."""
    return LETTERS[order[LETTERS.index(shown_letter)]]


def to_shown(authored_letter: str, order: Sequence[int]) -> str:
    """The letter under which a student sees the authored option ``authored_letter``."""
    return LETTERS[list(order).index(LETTERS.index(authored_letter))]


def presented(item, *, student: str | None, course: str, attempt: int = 0):
    """The item as ``student`` sees it: options, key and feedback under the shown letters.

    Items without options, and every item in self-study (``student=None``), come back unchanged.
    Option texts and feedback must not refer to other options by letter (banks are checked).
    """
    if not isinstance(item, SingleChoice | MultipleChoice) or student is None:
        return item
    order = option_order(
        item.id, len(item.options), student=student, course=course, attempt=attempt
    )
    return reorder(item, order)


def reorder(item, order: Sequence[int]):
    """The choice ``item`` with option ``order[i]`` shown at position ``i`` (key and feedback
    follow their options); :func:`presented` with an order already computed."""
    if isinstance(item, SingleChoice):
        answer = to_shown(item.answer, order)
    else:
        answer = tuple(sorted(to_shown(a, order) for a in item.answer))
    return item.model_copy(
        update={
            "options": tuple(item.options[i] for i in order),
            "answer": answer,
            "feedback": {to_shown(k, order): v for k, v in item.feedback.items()},
        }
    )
