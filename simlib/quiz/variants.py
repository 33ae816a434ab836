"""Per-student variants of numeric items, and their computed keys.

Every (course, student, item, attempt) gets its own parameters, drawn by
``numpy.random.default_rng`` from a seed that is an HMAC-SHA256 of (student, item, attempt)
keyed by the course secret (:func:`simlib.quiz.order.keyed_seed`; never Python's ``hash()``,
which changes between runs). A plain hash of public inputs would let a student compute a
classmate's variant from the names alone; the keyed one needs the secret. The key is the
registered simlib function's value for those parameters, times ``answer_scale``; nobody types it.

Example:
    >>> seed_for("simlib", "ada", "dp-ring-time", 0) == seed_for("simlib", "ada", "dp-ring-time", 0)
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simlib.errors import SimlibError
from simlib.quiz.errors import BankError, QuizError
from simlib.quiz.functions import TRANSFORMS, evaluate
from simlib.quiz.order import keyed_seed
from simlib.quiz.schema import ArgRef, Mistake, NumericItem, ParamRange

__all__ = [
    "DEFAULT_COURSE",
    "Variant",
    "format_number",
    "make_variant",
    "mistake_value",
    "render",
    "seed_for",
]

DEFAULT_COURSE = "simlib"


def seed_for(course: str, student: str, item_id: str, attempt: int) -> int:
    """A 64-bit seed for (student, item, attempt) keyed by the course secret, stable across runs
    and machines: ``HMAC-SHA256(course, "variant" | student | item | attempt)``."""
    return keyed_seed(course, "variant", student, item_id, int(attempt))


def _tidy(value: float, integer: bool) -> int | float:
    """Round away binary noise (0.1 * 3) so a parameter reads as the author meant it."""
    return int(round(value)) if integer else float(f"{value:.12g}")


def _draw(spec: ParamRange, rng: np.random.Generator) -> int | float:
    if spec.values is not None:
        value = spec.values[int(rng.integers(len(spec.values)))]
    else:
        count = int(math.floor((spec.max - spec.min) / spec.step + 1e-9)) + 1
        value = spec.min + int(rng.integers(count)) * spec.step
    return _tidy(value, spec.integer)


def format_number(value: float) -> str:
    """A number as a person writes it: ``8``, ``0.9``, ``2.5e+09`` (up to 6 significant figures)."""
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def render(template: str, params: dict[str, Any]) -> str:
    """Fill ``{name}`` placeholders with parameter values (no other formatting is done)."""
    out = template
    for name, value in params.items():
        out = out.replace("{" + name + "}", format_number(value))
    return out


def call_args(item: NumericItem, params: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the item's function for these parameter values."""
    out: dict[str, Any] = {}
    for name, arg in item.args.items():
        if isinstance(arg, ArgRef):
            value = params[arg.param]
            out[name] = value if arg.scale == 1.0 else float(f"{value * arg.scale:.12g}")
        else:
            out[name] = arg
    return out


def _compute(item: NumericItem, kwargs: dict[str, Any], field: str | None) -> float:
    try:
        value = evaluate(item.function, kwargs, field)
    except QuizError:
        raise
    except (SimlibError, TypeError, ValueError, ZeroDivisionError, ArithmeticError) as exc:
        raise BankError(
            f"item {item.id!r}: {item.function}({kwargs}) failed: {exc}; narrow the item's "
            "params so every variant is valid"
        ) from None
    return value


@dataclass(frozen=True)
class Variant:
    """One student's version of a numeric item: parameters, prompt and computed key."""

    item_id: str
    params: dict[str, Any]
    prompt: str
    key: float
    kwargs: dict[str, Any]


def make_variant(
    item: NumericItem, student: str, *, course: str = DEFAULT_COURSE, attempt: int = 0
) -> Variant:
    """Draw the parameters of ``item`` for this student and attempt, and compute the key."""
    rng = np.random.default_rng(seed_for(course, student, item.id, attempt))
    params = {name: _draw(spec, rng) for name, spec in item.params.items()}
    kwargs = call_args(item, params)
    key = _compute(item, kwargs, item.field) * item.answer_scale
    if not math.isfinite(key):
        raise BankError(f"item {item.id!r}: the key for {params} is {key}; narrow the params")
    return Variant(item.id, params, render(item.prompt, params), key, kwargs)


def mistake_value(item: NumericItem, variant: Variant, mistake: Mistake) -> float:
    """The answer a learner who made ``mistake`` would give for this variant (computed)."""
    kwargs = dict(variant.kwargs)
    for name, factor in mistake.scale_args.items():
        kwargs[name] = kwargs[name] * factor
    kwargs.update(mistake.override)
    field = mistake.field or item.field
    if mistake.transform is not None:
        try:
            value = TRANSFORMS[mistake.transform](item.function, kwargs, field)
        except (SimlibError, TypeError, ValueError, ArithmeticError, KeyError):
            return math.nan
    elif mistake.override or mistake.scale_args or mistake.field:
        try:
            value = evaluate(item.function, kwargs, field)
        except (SimlibError, TypeError, ValueError, ArithmeticError):
            return math.nan
    else:
        value = variant.key / item.answer_scale
    return value * item.answer_scale * (mistake.answer_factor or 1.0)
