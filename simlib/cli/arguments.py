"""Argument types and checks with upper bounds (:mod:`simlib.limits`), shared by command groups.

Each is checked by argparse (a bad value is one ``simlib: error: argument --x: ...`` line with
exit status 2) or before any heavy library starts, so that no flag can allocate without limit.

Example:
    >>> seed("7"), bounded_int(DEVICES)("8")
    (7, 8)
"""

from __future__ import annotations

import argparse
import math

from simlib.errors import ConfigError
from simlib.limits import (
    ACTIVATIONS,
    DEVICES,
    ENGINE_EXAMPLES,
    HIDDEN_LAYERS,
    HIDDEN_WIDTH,
    PARAMETERS,
    Limit,
    check_seed,
)
from simlib.yaml_files import quote

__all__ = ["bounded_int", "check_engine_run", "check_network", "port", "seed"]

# Shapes of the engine's data sets (simlib.engine.data; a test holds these equal to it): known
# here so that a run is checked before JAX or the data are loaded.
DATASET_SHAPES = {"digits": (64, 10), "synthetic": (784, 10)}


def _whole(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{quote(raw)} is not a whole number") from None


def bounded_int(limit: Limit, minimum: int = 1):
    """An argparse type: a whole number from ``minimum`` to ``limit.maximum``."""

    def parse(raw: str) -> int:
        value = _whole(raw)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{quote(raw)} is not a whole number > {minimum - 1}")
        try:
            return limit.check(value, "")
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc).strip()) from None

    return parse


def seed(raw: str) -> int:
    """An argparse type: a seed, a whole number from 0 to 2^32 - 1."""
    value = _whole(raw)
    try:
        return check_seed(value, "seed")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def port(raw: str) -> int:
    """An argparse type: a TCP port from 0 (pick a free one) to 65535."""
    value = _whole(raw)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{quote(raw)} is not a port; use 0 (a free one) to 65535")
    return value


def check_network(widths: tuple[int, ...], features: int, classes: int, flag: str) -> None:
    """Refuse hidden widths over the limits before any parameter exists.

    Parameters of the MLP ``features -> widths... -> classes``: sum of (in + 1) x out per layer.
    """
    HIDDEN_LAYERS.check(len(widths), f"{flag} with {len(widths)} layers:")
    for width in widths:
        HIDDEN_WIDTH.check(width, f"{flag} width")
    sizes = (features, *widths, classes)
    params = sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    if not math.isfinite(params) or params > PARAMETERS.maximum:
        PARAMETERS.check(params, f"{flag} {','.join(map(str, widths))} gives a network whose")


def check_engine_run(
    *, devices: int, steps: int, batch: int, hidden: tuple[int, ...], dataset: str
) -> None:
    """The bounds of one engine run (devices, steps x batch, the network), before JAX starts."""
    DEVICES.check(devices, "--devices")
    ENGINE_EXAMPLES.check(steps * batch, f"--steps {steps:,} x --batch {batch:,} =")
    features, classes = DATASET_SHAPES[dataset]
    check_network(hidden, features, classes, "--hidden")
    widest = max(features, *hidden)
    ACTIVATIONS.check(batch * widest, f"--batch {batch:,} x the widest layer {widest:,} =")
