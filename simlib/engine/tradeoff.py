"""The synchronisation trade-off, measured: hardware efficiency against statistical efficiency.

Asynchronous policies keep every worker busy (more gradients per simulated second: *hardware
efficiency*) but apply gradients computed from old parameters (less progress per gradient:
*statistical efficiency*); which reaches a target loss first depends on the cluster (Ho et al.
2013; Chen et al. 2016). Each run here is a simulation (``simlib.sim.simulate``) replayed as real
training (``simlib.engine.replay``), so both kinds of efficiency come from things that ran:

- iterations per second = applied gradients / simulated makespan;
- loss per iteration = the evaluated loss against gradients applied (``report.updates``);
- time to target = simulated seconds until the evaluated loss first reaches the target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from simlib.engine.stale import ReplayConfig, ReplayReport, replay
from simlib.errors import check_positive

__all__ = ["PolicyRun", "TradeoffPoint", "train_policies", "tradeoff_sweep"]


@dataclass(frozen=True, eq=False)
class PolicyRun:
    """One policy on one cluster: the simulated schedule and the training it caused."""

    label: str
    policy: object = field(repr=False)
    trace: object = field(repr=False)
    report: ReplayReport = field(repr=False)

    @property
    def iterations_per_second(self) -> float:
        """Hardware efficiency: applied gradients per simulated second."""
        from simlib.sim import throughput

        return throughput(self.trace)

    @property
    def makespan_seconds(self) -> float:
        from simlib.sim import makespan_seconds

        return makespan_seconds(self.trace)

    def updates_to_target(self, target_loss: float) -> int | None:
        """Statistical efficiency: gradients applied until the loss first reaches the target."""
        hit = np.flatnonzero(self.report.losses <= target_loss)
        return int(self.report.updates[hit[0]]) if hit.size else None

    def time_to_target(self, target_loss: float) -> float | None:
        """Simulated seconds until the loss first reaches the target (None: never)."""
        return self.report.time_to_target(target_loss)


def train_policies(
    cluster,
    policies: Sequence,
    *,
    steps: int | None = None,
    until_s: float | None = None,
    seed: int = 0,
    config: ReplayConfig | None = None,
    progress: bool = False,
) -> list[PolicyRun]:
    """Simulate ``cluster`` under each policy (same seed: same stragglers) and train for real.

    Args:
        cluster: a ``simlib.sim.ClusterSpec``.
        policies: ``simlib.sim.PolicySpec`` objects.
        steps / until_s: iterations per worker, or a budget of simulated seconds.
        seed: seed of the simulation (compute times); the data and model use ``config.seed``.
        config: what to train (``ReplayConfig``).
        progress: show a progress bar over the policies.

    Returns:
        One ``PolicyRun`` per policy, in the order given.
    """
    from tqdm.auto import tqdm

    from simlib.sim import simulate

    runs = []
    for policy in tqdm(policies, desc="policies", disable=not progress, leave=False):
        trace = simulate(cluster, policy, steps=steps, until_s=until_s, seed=seed)
        runs.append(PolicyRun(policy.label(), policy, trace, replay(trace, config)))
    return runs


@dataclass(frozen=True)
class TradeoffPoint:
    """One policy on one cluster of a sweep."""

    workers: int
    straggler_probability: float
    label: str
    iterations_per_second: float
    final_loss: float
    updates_to_target: int | None
    time_to_target_s: float | None


def tradeoff_sweep(
    cluster,
    policies: Sequence,
    *,
    workers: Sequence[int] = (4, 16),
    straggler_probabilities: Sequence[float] = (0.0, 0.3),
    steps: int = 60,
    target_loss: float = 0.5,
    seed: int = 0,
    config: ReplayConfig | None = None,
    progress: bool = False,
) -> list[TradeoffPoint]:
    """``train_policies`` over a grid of cluster sizes and straggler probabilities.

    Every grid point copies ``cluster`` with another ``workers`` (all at its first step time)
    and another ``stragglers.probability``; each policy runs ``steps`` iterations per worker.
    """
    check_positive("steps", steps, integer=True)
    from tqdm.auto import tqdm

    grid = [(n, p) for n in workers for p in straggler_probabilities]
    points = []
    for n, p in tqdm(grid, desc="clusters", disable=not progress, leave=False):
        stragglers = dataclasses.replace(cluster.stragglers, probability=p)
        spec = dataclasses.replace(cluster, workers=n, step_seconds=cluster.step_seconds[0],
                                   stragglers=stragglers)  # fmt: skip
        for run in train_policies(spec, policies, steps=steps, seed=seed, config=config):
            points.append(TradeoffPoint(
                n, p, run.label, run.iterations_per_second, run.report.final_loss,
                run.updates_to_target(target_loss), run.time_to_target(target_loss),
            ))  # fmt: skip
    return points
