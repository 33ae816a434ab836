"""Many simulations at once: speed-up as workers grow, and policies side by side.

These are what the notebooks and dashboards plot; each point is one :func:`simulate` run, and
every number comes from the trace's metrics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from simlib.sim.cluster import ClusterSpec
from simlib.sim.metrics import makespan_seconds, throughput
from simlib.sim.policies import PolicySpec
from simlib.sim.runner import simulate
from simlib.sim.trace import Trace

__all__ = ["ScalingPoint", "compare_policies", "scaling_sweep"]


@dataclass(frozen=True)
class ScalingPoint:
    """One cluster size of a sweep: its throughput and how it compares to one worker."""

    workers: int
    throughput_updates_per_s: float
    makespan_seconds: float
    speedup: float
    efficiency: float


def scaling_sweep(
    make_cluster: Callable[[int], ClusterSpec],
    policy: PolicySpec,
    workers: Sequence[int],
    *,
    steps: int = 20,
    seed: int = 0,
    progress: bool = False,
) -> list[ScalingPoint]:
    """Simulate the same training on clusters of each size; speed-up against one worker.

    Throughput counts applied gradients per second (each is one worker's batch), so the
    speed-up is ``throughput(N) / throughput(1)`` and the efficiency ``speed-up / N``.

    Args:
        make_cluster: builds the cluster for a number of workers.
        policy: the policy every run uses.
        workers: the cluster sizes (1 is added as the reference if missing).
        steps: iterations per worker in each run.
        seed: the seed of every run.
        progress: show a progress bar (tqdm).

    Example:
        >>> points = scaling_sweep(lambda n: ClusterSpec(workers=n), PolicySpec(), [1, 4], steps=2)
        >>> [p.speedup for p in points]
        [1.0, 4.0]
    """
    sizes = sorted(set(workers) | {1})
    from tqdm.auto import tqdm

    runs = {}
    for n in tqdm(sizes, desc="cluster sizes", disable=not progress, leave=False):
        trace = simulate(make_cluster(n), policy, steps=steps, seed=seed)
        runs[n] = (throughput(trace), makespan_seconds(trace))
    base = runs[1][0]
    return [
        ScalingPoint(n, runs[n][0], runs[n][1], runs[n][0] / base, runs[n][0] / base / n)
        for n in sizes
        if n in workers or n == 1
    ]


def compare_policies(
    cluster: ClusterSpec,
    policies: Sequence[PolicySpec],
    *,
    steps: int = 20,
    seed: int = 0,
) -> dict[str, Trace]:
    """Simulate one cluster under several policies with the same seed: ``{label: trace}``.

    The same seed means the same compute times: every policy faces the same stragglers.
    """
    return {p.label(): simulate(cluster, p, steps=steps, seed=seed) for p in policies}


def with_workers(cluster: ClusterSpec, workers: int) -> ClusterSpec:
    """The same cluster with another number of workers (its first step time for all)."""
    return dataclasses.replace(cluster, workers=workers, step_seconds=cluster.step_seconds[0])
