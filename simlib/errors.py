"""The errors simlib raises on purpose, and the checks that raise them.

Every error a learner can cause (a bad flag, a bad file, an impossible cluster) is a
``SimlibError`` whose message names the thing, the bad value and the way to fix it. The CLI
prints such a message as one line and exits with status 2; anything else is a bug.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DeviceError",
    "SimlibError",
    "check_divisible",
    "check_positive",
    "check_non_negative",
]


class SimlibError(Exception):
    """Base class of the errors a user can cause and fix."""


class ConfigError(SimlibError, ValueError):
    """A field, flag or file holds a value simlib cannot use."""


class DeviceError(SimlibError, RuntimeError):
    """The devices asked for are not the devices JAX can give."""


def check_positive(name: str, value: float, *, integer: bool = False) -> None:
    """Raise ConfigError unless ``value`` is a (whole, if ``integer``) number > 0."""
    if integer and (isinstance(value, bool) or int(value) != value):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if not value > 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")


def check_non_negative(name: str, value: float) -> None:
    """Raise ConfigError unless ``value`` >= 0."""
    if not value >= 0:
        raise ConfigError(f"{name} must be >= 0, got {value!r}")


def check_divisible(name: str, value: int, by: int, by_name: str) -> None:
    """Raise ConfigError unless ``by`` divides ``value``, suggesting the nearest valid values."""
    if value % by:
        lower = (value // by) * by
        upper = lower + by
        hint = f"{lower} or {upper}" if lower > 0 else f"{upper}"
        raise ConfigError(
            f"{name}={value} is not divisible by {by_name}={by}; use a multiple of {by}, "
            f"for example {hint}"
        )
