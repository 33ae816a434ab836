"""What every LMS export shares: variant answers, absolute margins, partial-credit weights.

An LMS cannot run simlib, so a numeric item travels as ``N`` pre-generated variants: variant
``k`` is :func:`simlib.quiz.variants.make_variant` for the synthetic student id
``lms-variant-k`` and the course secret, so its prompt and key are computed, never typed, and
a different ``--course`` gives different variants. The LMS draws one variant per student
(a Moodle category or a Canvas question group with "pick 1").

Every tolerance becomes the absolute margin of that variant, because each variant's key is
known: relative ``r`` gives ``r * |key|``, absolute ``a`` gives ``a``, and ``s`` significant
figures give half a unit in the ``s``-th figure, which is exactly what
:func:`simlib.quiz.grading.within` accepts.

Multiple choice: our grader gives ``max(0, (right - wrong) / k)`` for ``k`` correct options,
so each correct option weighs ``+100/k`` percent and each wrong one ``-100/k``; Moodle and
GIFT add the weights of the chosen options and clamp at 0, which is the same rule.

Example:
    >>> from simlib.quiz.schema import Tolerance
    >>> absolute_margin(Tolerance(relative=0.01), 250.0)
    2.5
    >>> absolute_margin(Tolerance(sigfigs=2), 1234.0)
    50.0
    >>> plain_number(2.5e-05)
    '0.000025'
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from simlib.quiz.errors import QuizError
from simlib.quiz.schema import MultipleChoice, NumericItem, Tolerance
from simlib.quiz.variants import make_variant

__all__ = [
    "MAX_VARIANTS",
    "NumericVariant",
    "absolute_margin",
    "multiple_weights_percent",
    "numeric_variants",
    "plain_number",
    "variant_student",
]

MAX_VARIANTS = 200


def absolute_margin(tolerance: Tolerance, key: float) -> float:
    """The largest ``|answer - key|`` that :func:`~simlib.quiz.grading.within` accepts."""
    return float(f"{tolerance.margin(key):.12g}")


def plain_number(value: float) -> str:
    """``value`` in plain decimal digits (no exponent, shortest exact repr): GIFT needs it."""
    if float(value).is_integer() and abs(value) < 1e16:
        return str(int(value))
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def variant_student(k: int) -> str:
    """The synthetic student id that seeds variant ``k`` (1-based)."""
    return f"lms-variant-{k}"


@dataclass(frozen=True)
class NumericVariant:
    """One pre-generated version of a numeric item: its prompt, key and absolute margin."""

    number: int
    prompt: str
    key: float
    margin: float
    params: dict

    @property
    def low(self) -> float:
        return self.key - self.margin

    @property
    def high(self) -> float:
        return self.key + self.margin


def numeric_variants(item: NumericItem, count: int, course: str) -> tuple[NumericVariant, ...]:
    """``count`` variants of ``item`` for ``course``, computed by ``make_variant``."""
    if not 1 <= count <= MAX_VARIANTS:
        raise QuizError(
            f"--variants {count} is out of range; give 1 to {MAX_VARIANTS} variants per item"
        )
    out = []
    unit = f" (answer in {item.unit})" if item.unit else ""
    for k in range(1, count + 1):
        v = make_variant(item, variant_student(k), course=course)
        out.append(
            NumericVariant(
                k, v.prompt + unit, v.key, absolute_margin(item.tolerance, v.key), dict(v.params)
            )
        )
    return tuple(out)


def multiple_weights_percent(item: MultipleChoice) -> list[float]:
    """Each option's weight in percent: ``+100/k`` if correct, ``-100/k`` if not."""
    share = 100.0 / len(item.answer)
    letters = "ABCDEFGH"
    return [share if letters[i] in item.answer else -share for i in range(len(item.options))]
