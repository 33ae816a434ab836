"""Speed-up and its limits: Amdahl's law, and speed-up measured from runs.

Amdahl (1967): with a fraction f of the work parallel, N workers give
``speedup(N) = 1 / ((1 - f) + f / N)``, never more than ``1 / (1 - f)``. Scaling efficiency is
``speedup / N``.
"""

from __future__ import annotations

from simlib.sim._checks import check_count, check_fraction, check_number

__all__ = ["amdahl_speedup", "scaling_efficiency", "speedup"]


def amdahl_speedup(parallel_fraction: float, workers: int) -> float:
    """Amdahl's law: ``1 / ((1 - f) + f / N)``.

    Args:
        parallel_fraction: f, the share of the single-worker time that parallelises (0..1).
        workers: N >= 1.

    Returns:
        The speed-up over one worker.

    Example:
        >>> round(amdahl_speedup(0.9, 10), 4)  # 1 / (0.1 + 0.09)
        5.2632
    """
    f = check_fraction("parallel_fraction", parallel_fraction)
    n = check_count("workers", workers, 1)
    return 1.0 / ((1.0 - f) + f / n)


def speedup(single_seconds: float, parallel_seconds: float) -> float:
    """Speed-up of a run over the one-worker run: ``T(1) / T(N)``."""
    t1 = check_number("single_seconds", single_seconds, strict=True)
    return t1 / check_number("parallel_seconds", parallel_seconds, strict=True)


def scaling_efficiency(single_seconds: float, parallel_seconds: float, workers: int) -> float:
    """Scaling efficiency: ``T(1) / (N T(N))`` (1.0 is perfect linear scaling)."""
    return speedup(single_seconds, parallel_seconds) / check_count("workers", workers, 1)
