"""What every engine run's report can say about itself, whatever the strategy.

``TrainReport`` (data parallelism) and ``StrategyReport`` (tensor, pipeline, ZeRO) both hold
``losses``, ``step_seconds`` and final ``params``; this mixin derives the rest from them, so the
CLI and the notebooks read every run the same way.
"""

from __future__ import annotations

import statistics

from simlib.engine.model import param_bytes, param_count, param_sha256

__all__ = ["RunSummary"]


class RunSummary:
    """Properties derived from ``losses``, ``step_seconds`` and ``params``."""

    losses: tuple[float, ...]
    step_seconds: tuple[float, ...]
    params: list

    @property
    def final_loss(self) -> float:
        return self.losses[-1]

    @property
    def median_step_seconds(self) -> float:
        """Median wall time of the steps run in this process (nan if none ran)."""
        return statistics.median(self.step_seconds) if self.step_seconds else float("nan")

    @property
    def param_count(self) -> int:
        return param_count(self.params)

    @property
    def param_bytes(self) -> int:
        return param_bytes(self.params)

    @property
    def param_sha256(self) -> str:
        """SHA-256 of the final parameters' bytes: equal iff bitwise identical."""
        return param_sha256(self.params)
