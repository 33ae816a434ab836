"""Argument checks shared by the simulator's closed forms and specs.

Each check raises :class:`simlib.errors.ConfigError` with a message that names the argument,
the bad value and what is allowed, so that a learner can fix the call from the message alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from simlib.errors import ConfigError

__all__ = [
    "check_choice",
    "check_count",
    "check_fraction",
    "check_number",
    "check_power_of_two",
    "nearest_powers_of_two",
]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:40]}... ({len(text):,} characters)"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_count(name: str, value: object, minimum: int = 1) -> int:
    """Return ``value`` as an int; raise unless it is a whole number >= ``minimum``."""
    finite = isinstance(value, int) or (_is_number(value) and math.isfinite(value))
    if not _is_number(value) or not finite or int(value) != value:  # a huge int is no float
        raise ConfigError(f"{name} must be a whole number >= {minimum}, got {_short(value)}")
    if value < minimum:
        raise ConfigError(f"{name} must be a whole number >= {minimum}, got {_short(value)}")
    return int(value)


def check_number(
    name: str, value: object, *, minimum: float = 0.0, strict: bool = False, allow_inf: bool = False
) -> float:
    """Return ``value`` as a float; raise unless it is a number >= ``minimum`` (> if ``strict``)."""
    bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1e308:
        value = math.copysign(math.inf, value)  # a float would overflow; treat it as infinite
    ok = _is_number(value) and not math.isnan(value) and (allow_inf or math.isfinite(value))
    if ok:
        ok = value > minimum if strict else value >= minimum
    if not ok:
        finite = "" if allow_inf else "finite "
        raise ConfigError(f"{name} must be a {finite}number {bound}, got {_short(value)}")
    return float(value)


def check_fraction(name: str, value: object) -> float:
    """Return ``value`` as a float; raise unless 0 <= value <= 1."""
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a number between 0 and 1, got {value!r}")
    return float(value)


def check_choice(name: str, value: object, choices: Iterable[object]) -> None:
    """Raise unless ``value`` is one of ``choices``, listing them."""
    choices = tuple(choices)
    if value not in choices:
        allowed = ", ".join(str(c) for c in choices)
        raise ConfigError(f"{name} {value!r} is not allowed; use one of: {allowed}")


def nearest_powers_of_two(value: int) -> tuple[int, int]:
    """The powers of two just below and just above ``value`` (``value`` >= 1)."""
    lower = 1 << (int(value).bit_length() - 1)
    return lower, lower * 2


def check_power_of_two(name: str, value: int, why: str) -> None:
    """Raise unless ``value`` is a power of two, suggesting the nearest ones."""
    if value & (value - 1):
        lower, upper = nearest_powers_of_two(value)
        raise ConfigError(
            f"{name}={value} is not a power of two, which {why} needs; use {lower} or {upper}"
        )
