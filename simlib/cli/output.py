"""How every subcommand prints: a JSON object with ``--json``, readable lines without."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["add_json_flag", "emit", "positive_int", "non_negative_float", "positive_float"]


def add_json_flag(parser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a summary"
    )


def _clean(value: Any) -> Any:
    """Make numpy scalars, tuples and non-finite floats JSON-safe (inf/nan become null)."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit(
    result: Mapping[str, Any], as_json: bool, text: Callable[[Mapping[str, Any]], str]
) -> None:
    """Print ``result`` as one JSON object, or as the text ``text(result)`` renders."""
    if as_json:
        print(json.dumps(_clean(result)))
    else:
        print(text(result))


def _number(kind, check, what):
    def parse(raw: str):
        import argparse

        try:
            value = kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not {what}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"{raw!r} is not {what}")
        return value

    return parse


positive_int = _number(int, lambda v: v > 0, "a whole number > 0")
positive_float = _number(float, lambda v: math.isfinite(v) and v > 0, "a number > 0")
non_negative_float = _number(float, lambda v: math.isfinite(v) and v >= 0, "a number >= 0")
