"""Numbers with units, as students type them: ``19.25 ms``, ``0.01925 s``, ``2.5 GiB``, ``40%``.

A quantity is a number followed by an optional unit. Each unit in :data:`UNITS` has a
*dimension* (time, data, rate, ratio) and a *factor* that converts it to the dimension's base
(seconds, bytes, bytes per second, a plain number). Converting ``value`` from unit ``a`` to
unit ``b`` of the same dimension is ``value * factor(a) / factor(b)``.

- time: ``s``, ``ms``, ``us`` (also ``µs``, ``μs``), ``ns``, ``min``, ``h`` and their words;
- data: ``B``, decimal ``kB MB GB TB PB`` (10^3 steps, SI) and binary ``KiB MiB GiB TiB``
  (2^10 steps, IEC 80000-13); bits ``bit kbit Mbit Gbit Tbit`` (also ``Gb``: a lower-case
  ``b`` is a bit, 1/8 byte);
- rate: any data unit per time unit (``GB/s``, ``Gbit/s``, ``MiB/ms``) and ``Gbps``, ``GBps``;
- ratio: ``x`` (1), ``%`` (0.01), and counts ``k``/``thousand`` (10^3), ``M``/``million``
  (10^6), ``billion``/``bn`` (10^9).

A unit an item declares that is not in the table (``steps``, ``workers``) is a count: the
answer may repeat it (singular or plural) or omit it.

Numbers are written with digits, a decimal point and an optional exponent (``1.2e3``);
thousands may be grouped with commas (``1,500``) or underscores. A comma that is not a
thousands separator (``2,5``) is refused rather than guessed.

Example:
    >>> q = parse_quantity("0.01925 s")
    >>> round(convert(q.value, q.unit, "ms"), 9)
    19.25
    >>> round(convert(2.5, "GiB", "GB"), 6)
    2.684355
    >>> convert(100, "Gbit/s", "GB/s")
    12.5
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["UNITS", "Quantity", "Unit", "UnitError", "convert", "lookup", "parse_quantity"]


class UnitError(ValueError):
    """A number or unit that cannot be read; the message says what to write instead."""


@dataclass(frozen=True)
class Unit:
    """One unit: its dimension and its size in the dimension's base unit."""

    symbol: str
    dimension: str
    factor: float


@dataclass(frozen=True)
class Quantity:
    """A number as typed, and its unit symbol (``""`` when none was written)."""

    value: float
    unit: str


def _table() -> dict[str, Unit]:
    table: dict[str, Unit] = {}

    def add(dimension: str, factor: float, *names: str) -> None:
        for name in names:
            table[name] = Unit(names[0], dimension, factor)

    add("time", 1.0, "s", "sec", "secs", "second", "seconds")
    add("time", 1e-3, "ms", "msec", "millisecond", "milliseconds")
    add("time", 1e-6, "us", "µs", "μs", "usec", "microsecond", "microseconds")
    add("time", 1e-9, "ns", "nanosecond", "nanoseconds")
    add("time", 60.0, "min", "mins", "minute", "minutes")
    add("time", 3600.0, "h", "hr", "hour", "hours")
    add("data", 1.0, "B", "byte", "bytes")
    add("data", 0.125, "bit", "bits", "b")
    for power, prefix in enumerate("kMGTP", 1):
        add("data", 1000.0**power, f"{prefix}B", f"{prefix.upper()}B")
        add("data", 1024.0**power, f"{prefix.upper()}iB")
        add("data", 1000.0**power / 8, f"{prefix}bit", f"{prefix}b", f"{prefix.upper()}bit")
    add("ratio", 1.0, "x", "×", "times")
    add("ratio", 0.01, "%", "percent")
    add("ratio", 1e3, "k", "K", "thousand")
    add("ratio", 1e6, "M", "million")
    add("ratio", 1e9, "billion", "bn")
    return table


UNITS: dict[str, Unit] = _table()
_PER_SECOND = re.compile(r"^(?P<data>[kMGTP]?(?:i?B|b|bit))ps$")
_NUMBER = re.compile(
    r"^(?P<sign>[+-]?)(?P<digits>\d{1,3}(?:,\d{3})+|[\d_]+\.?[\d_]*|\.\d+)"
    r"(?P<exp>[eE][+-]?\d+)?\s*(?P<unit>.*)$"
)


def lookup(symbol: str) -> Unit | None:
    """The unit written ``symbol`` (``GB/s`` and ``Gbps`` are data per time), or None."""
    symbol = symbol.strip()
    if symbol in UNITS:
        return UNITS[symbol]
    match = _PER_SECOND.match(symbol)
    if match:
        symbol = f"{match['data']}/s"
    if symbol.count("/") == 1:
        top, bottom = (UNITS.get(part.strip()) for part in symbol.split("/"))
        if top and bottom and top.dimension == "data" and bottom.dimension == "time":
            return Unit(symbol, "rate", top.factor / bottom.factor)
    return None


def parse_quantity(text: str) -> Quantity:
    """Read ``"19.25 ms"``, ``"1.2e3"``, ``"1,500 MB"`` or ``"40%"``; :class:`UnitError` if not.

    The unit is returned as written; :func:`lookup` tells whether it is known.
    """
    match = _NUMBER.match(text.strip())
    if not match or not any(ch.isdigit() for ch in match["digits"]):
        raise UnitError(f"no number read from {text.strip()[:40]!r}; write digits such as 12.5")
    digits = match["digits"].replace(",", "").replace("_", "")
    unit = match["unit"].strip()
    if unit[:1] in {",", "."} or (unit[:1].isdigit()):
        raise UnitError(
            f"{text.strip()[:40]!r} is not one number; write a decimal point (2.5), "
            "and group thousands only as 1,500"
        )
    try:
        value = float(f"{match['sign']}{digits}{match['exp'] or ''}")
    except ValueError:
        raise UnitError(f"no number read from {text.strip()[:40]!r}; write digits") from None
    return Quantity(value, unit)


def _same_noun(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return a == b or a == b + "s" or a + "s" == b


def convert(value: float, unit: str, target: str) -> float:
    """``value`` in ``unit`` expressed in ``target``; :class:`UnitError` if they do not match.

    ``unit == ""`` means the number was written in ``target`` already. A ``target`` missing
    from the table is a count noun (``steps``): only the same noun, or a ratio such as ``k``,
    converts to it.
    """
    if not unit or unit == target:
        return value
    given, wanted = lookup(unit), lookup(target) if target else Unit("", "ratio", 1.0)
    if wanted is None:
        if _same_noun(unit, target):
            return value
        wanted = Unit(target, "ratio", 1.0)
    if given is None:
        near = sorted({u.symbol for name, u in UNITS.items() if name.lower() == unit.lower()})
        hint = f"did you mean {' or '.join(near)}? " if near else ""
        raise UnitError(
            f"unit {unit!r} is not known; {hint}write the number in {target or 'plain numbers'}"
        )
    if given.dimension != wanted.dimension:
        raise UnitError(
            f"{unit} is a {given.dimension} unit, but the answer is a {wanted.dimension}"
            f"{' in ' + target if target else ''}; write it in {target or 'a plain number'}"
        )
    return float(f"{value * given.factor / wanted.factor:.12g}")
