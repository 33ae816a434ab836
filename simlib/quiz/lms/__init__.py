"""Exports of a bank to a learning management system: Moodle XML, Canvas QTI 1.2, GIFT.

Each format is an :class:`LmsFormat` (its flag, what it writes, and a function from a bank to
bytes); :data:`FORMATS` lists them by flag. Numeric items become ``N`` pre-generated variants
(:mod:`simlib.quiz.lms.common`), computed by simlib for the course secret, never typed.

Example:
    >>> from simlib.quiz.bank import load_bank
    >>> FORMATS["gift"].render(load_bank("basics"), variants=2, course="c").startswith(b"//")
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simlib.quiz.lms.gift import gift_text
from simlib.quiz.lms.moodle import moodle_xml
from simlib.quiz.lms.qti import qti_zip
from simlib.quiz.schema import Bank

__all__ = ["FORMATS", "LmsFormat"]


@dataclass(frozen=True)
class LmsFormat:
    """One export format: its CLI flag, a description, and how a bank becomes its bytes."""

    flag: str
    description: str
    _render: Callable[..., bytes | str]

    def render(self, bank: Bank, *, variants: int, course: str) -> bytes:
        out = self._render(bank, variants=variants, course=course)
        return out.encode("utf-8") if isinstance(out, str) else out


FORMATS: dict[str, LmsFormat] = {
    f.flag: f
    for f in (
        LmsFormat("moodle", "Moodle XML question bank (.xml)", moodle_xml),
        LmsFormat("qti", "Canvas QTI 1.2 package (.zip)", qti_zip),
        LmsFormat("gift", "Moodle GIFT text (.txt)", gift_text),
    )
}
