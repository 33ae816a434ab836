"""The registry of simlib functions a numeric quiz item may name, and the known mistakes.

A numeric item never holds code: it names one of :data:`FUNCTIONS` (a public simlib closed
form), gives ranges for its parameters, and picks a ``field`` of the result. The key is what
the function returns for the student's variant. Known mistakes are computed the same way: the
same function with other arguments, another field, a scaled answer, or one of the registered
:data:`TRANSFORMS` below (small pure functions of the correct result).

The functions are imported lazily, on first use, so loading and validating a bank needs only
the static description here (argument names and result fields), and grading never imports JAX.

Example:
    >>> spec = FUNCTIONS["amdahl_speedup"]
    >>> spec.fields
    ()
    >>> round(evaluate("amdahl_speedup", {"parallel_fraction": 0.9, "workers": 10}), 4)
    5.2632
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from simlib.quiz.errors import QuizError

__all__ = ["FUNCTIONS", "TRANSFORMS", "FunctionSpec", "evaluate", "resolve", "result_value"]

_COLLECTIVE_FIELDS = (
    "seconds",
    "latency_seconds",
    "bandwidth_seconds",
    "compute_seconds",
    "bytes_sent_per_rank",
    "algbw_bytes_per_s",
    "busbw_bytes_per_s",
)


@dataclass(frozen=True)
class FunctionSpec:
    """What a bank may know about a registered function without importing it.

    Attributes:
        module, attr: where the callable lives (imported on first use).
        required: keyword arguments an item must give.
        optional: keyword arguments an item may give.
        fields: fields of the returned dataclass an item may pick; () when it returns a number.
        summary: one line for ``simlib quiz functions`` and error messages.
    """

    module: str
    attr: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    fields: tuple[str, ...]
    summary: str

    @property
    def arguments(self) -> tuple[str, ...]:
        return self.required + self.optional


FUNCTIONS: dict[str, FunctionSpec] = {
    "allreduce_cost": FunctionSpec(
        "simlib.sim",
        "allreduce_cost",
        ("algorithm", "ranks", "nbytes", "bandwidth_bytes_per_s"),
        ("latency_s", "gamma_s_per_byte"),
        _COLLECTIVE_FIELDS,
        "all-reduce time by algorithm (ring, tree, recursive-doubling, halving-doubling)",
    ),
    "reduce_scatter_cost": FunctionSpec(
        "simlib.sim",
        "reduce_scatter_cost",
        ("ranks", "nbytes", "bandwidth_bytes_per_s"),
        ("latency_s", "gamma_s_per_byte"),
        _COLLECTIVE_FIELDS,
        "ring reduce-scatter time",
    ),
    "all_gather_cost": FunctionSpec(
        "simlib.sim",
        "all_gather_cost",
        ("ranks", "nbytes", "bandwidth_bytes_per_s"),
        ("latency_s",),
        _COLLECTIVE_FIELDS,
        "ring all-gather time",
    ),
    "ps_cost": FunctionSpec(
        "simlib.sim",
        "ps_cost",
        ("workers", "servers", "model_bytes", "worker_bandwidth_bytes_per_s"),
        ("server_bandwidth_bytes_per_s", "latency_s", "pull"),
        ("seconds", "latency_seconds", "bandwidth_seconds", "bytes_per_server", "bytes_total"),
        "parameter-server push (and pull) time and traffic",
    ),
    "byteps_seconds": FunctionSpec(
        "simlib.sim",
        "byteps_seconds",
        ("workers", "cpu_servers", "model_bytes", "bandwidth_bytes_per_s"),
        (),
        (),
        "BytePS optimal communication time with k extra CPU servers",
    ),
    "pipeline_cost": FunctionSpec(
        "simlib.sim",
        "pipeline_cost",
        ("stages", "microbatches"),
        ("forward_s", "backward_s", "interleave", "schedule"),
        (
            "makespan_seconds",
            "ideal_seconds",
            "bubble_seconds",
            "bubble_fraction",
            "bubble_over_ideal",
            "activations_in_flight",
        ),
        "GPipe / 1F1B pipeline makespan, bubble and activation memory",
    ),
    "zero_memory": FunctionSpec(
        "simlib.sim",
        "zero_memory",
        ("params", "ranks", "stage"),
        ("optimizer_bytes_per_param",),
        (
            "bytes_per_device",
            "parameter_bytes",
            "gradient_bytes",
            "optimizer_bytes",
            "communication_factor",
        ),
        "ZeRO stage 0-3 bytes per device (mixed-precision Adam)",
    ),
    "amdahl_speedup": FunctionSpec(
        "simlib.sim",
        "amdahl_speedup",
        ("parallel_fraction", "workers"),
        (),
        (),
        "Amdahl's law: 1 / ((1 - f) + f / N)",
    ),
}


def resolve(name: str) -> Callable[..., Any]:
    """The callable registered as ``name``, imported now if it was not yet."""
    spec = FUNCTIONS.get(name)
    if spec is None:
        raise QuizError(f"function {name!r} is not registered; use one of {sorted(FUNCTIONS)}")
    try:
        module = importlib.import_module(spec.module)
        return getattr(module, spec.attr)
    except (ImportError, AttributeError) as exc:
        raise QuizError(
            f"function {name!r} should come from {spec.module}.{spec.attr} but cannot be "
            f"imported ({exc}); update simlib or pick another function"
        ) from None


def result_value(result: Any, field: str | None) -> float:
    """The number an item asks for: ``result`` itself, or its attribute ``field``."""
    value = result if field is None else getattr(result, field)
    return float(value)


def evaluate(name: str, kwargs: Mapping[str, Any], field: str | None = None) -> float:
    """Call the registered function ``name`` with ``kwargs`` and return ``field`` of it."""
    return result_value(resolve(name)(**kwargs), field)


# --- Known mistakes that are not just other arguments, fields or a factor ----------------------
# Each takes (name, kwargs, field) and returns the wrong number a learner who made that
# mistake would compute, in the same units as the correct field.


def _drop_ring_factor(name: str, kwargs: Mapping[str, Any], field: str | None) -> float:
    """Forgot the (p-1)/p factor: the bandwidth term (or bytes) without it."""
    result = resolve(name)(**kwargs)
    ranks = int(kwargs["ranks"])
    undo = ranks / (ranks - 1) if ranks > 1 else 1.0
    if field == "seconds":
        return float(result.latency_seconds + result.bandwidth_seconds * undo)
    return result_value(result, field) * undo


def _serial_as_parallel(name: str, kwargs: Mapping[str, Any], field: str | None) -> float:
    """Read the serial fraction as the parallel one: Amdahl with f and 1 - f swapped."""
    swapped = dict(kwargs, parallel_fraction=1.0 - float(kwargs["parallel_fraction"]))
    return evaluate(name, swapped, field)


def _per_device_batch_as_global(name: str, kwargs: Mapping[str, Any], field: str | None) -> float:
    """Used every device's gradient size times the device count as the all-reduce message."""
    bigger = dict(kwargs, nbytes=float(kwargs["nbytes"]) * int(kwargs["ranks"]))
    return evaluate(name, bigger, field)


TRANSFORMS: dict[str, Callable[[str, Mapping[str, Any], str | None], float]] = {
    "drop_ring_factor": _drop_ring_factor,
    "serial_as_parallel": _serial_as_parallel,
    "message_times_ranks": _per_device_batch_as_global,
}


def is_number(value: Any) -> bool:
    """True for a finite int or float that is not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
