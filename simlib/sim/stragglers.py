"""How long each worker computes each step: base speed, noise and stragglers, seeded.

Worker w's step t takes ``step_seconds[w] * noise[t, w] * slow[t, w]`` where ``noise`` is 1
("fixed") or lognormal with shape ``sigma`` and mean 1 (mu = -sigma^2 / 2), and ``slow`` is
``slowdown`` with probability ``probability`` (a straggling step), else 1. Heterogeneous
clusters give each worker its own ``step_seconds``.

:class:`ComputeTimes` draws these from one ``numpy.random.Generator`` in blocks of whole steps,
always in step order, so that the event-level simulation (which asks step by step, in whatever
order workers get there) and the vectorised fast paths (which ask for all steps at once) see
exactly the same numbers for the same seed.
"""

from __future__ import annotations

import numpy as np

from simlib.sim.cluster import StragglerSpec

__all__ = ["ComputeTimes"]

_BLOCK_STEPS = 64


class ComputeTimes:
    """Seconds of compute per (step, worker), drawn lazily in whole blocks of steps.

    Args:
        step_seconds: base seconds per step of each worker (array of length N).
        stragglers: the noise and straggling.
        seed: seed of the ``numpy.random.Generator`` (PCG64) these draws come from.

    Example:
        >>> times = ComputeTimes([1.0, 2.0], StragglerSpec(), seed=0)
        >>> times.row(5).tolist()
        [1.0, 2.0]
    """

    def __init__(self, step_seconds, stragglers: StragglerSpec, seed: int):
        self.base = np.asarray(step_seconds, dtype=np.float64)
        self.spec = stragglers
        self.rng = np.random.default_rng(seed)
        self.blocks: list[np.ndarray] = []
        self.rows: list[list[float]] = []  # the same numbers as Python floats, one list a step

    def _draw_block(self) -> None:
        shape = (_BLOCK_STEPS, len(self.base))
        block = np.broadcast_to(self.base, shape).copy()
        spec = self.spec
        if spec.distribution == "lognormal" and spec.sigma > 0:
            block *= self.rng.lognormal(-(spec.sigma**2) / 2, spec.sigma, size=shape)
        if spec.probability > 0 and spec.slowdown > 1:
            block *= np.where(self.rng.random(shape) < spec.probability, spec.slowdown, 1.0)
        self.blocks.append(block)
        self.rows += block.tolist()

    def seconds(self, step: int, worker: int) -> float:
        """Seconds worker ``worker`` computes in step ``step`` (a Python float: SimPy's clock
        stays a float, which keeps the event loop fast)."""
        try:
            return self.rows[step][worker]
        except IndexError:
            while len(self.rows) <= step:
                self._draw_block()
            return self.rows[step][worker]

    def row(self, step: int) -> np.ndarray:
        """Every worker's seconds for ``step`` (a view; do not modify)."""
        block, offset = divmod(step, _BLOCK_STEPS)
        while len(self.blocks) <= block:
            self._draw_block()
        return self.blocks[block][offset]

    def matrix(self, steps: int) -> np.ndarray:
        """Seconds for steps ``0 .. steps-1``: an array of shape (steps, workers)."""
        if steps:
            self.row(steps - 1)
        if not self.blocks:
            return np.zeros((0, len(self.base)))
        return np.concatenate(self.blocks)[:steps]
