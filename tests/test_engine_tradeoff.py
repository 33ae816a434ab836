"""The trade-off measured: iterations per second, loss per gradient, time to target."""

from __future__ import annotations

import numpy as np
import pytest

from simlib.engine import ReplayConfig
from simlib.engine.tradeoff import tradeoff_sweep, train_policies
from simlib.sim import ClusterSpec, PolicySpec, StragglerSpec

CFG = ReplayConfig(hidden=(32,), batch_per_worker=8, learning_rate=0.1)


def test_iterations_per_second_follow_the_schedule():
    """Workers at 1 s and 2 s per step for 8.5 s: BSP applies 4 rounds x 2, ASP 8 + 4."""
    cluster = ClusterSpec(workers=2, step_seconds=[1.0, 2.0])
    bsp, asp = train_policies(cluster, [PolicySpec("bsp"), PolicySpec("asp")], until_s=8.5,
                              config=CFG)  # fmt: skip
    assert (bsp.label, asp.label) == ("BSP", "ASP")
    assert bsp.report.gradients == 8 and asp.report.gradients == 12
    assert bsp.iterations_per_second == pytest.approx(8 / 8.0)
    assert asp.iterations_per_second == pytest.approx(12 / 8.0)


def test_targets_are_read_from_the_evaluated_curve():
    cluster = ClusterSpec(workers=4, stragglers=StragglerSpec(probability=0.3, slowdown=4.0))
    (run,) = train_policies(cluster, [PolicySpec("ssp", staleness=1)], steps=20, config=CFG)
    losses, updates, times = run.report.losses, run.report.updates, run.report.times_s
    target = float(np.median(losses))
    first = int(np.flatnonzero(losses <= target)[0])
    assert run.updates_to_target(target) == updates[first]
    assert run.time_to_target(target) == times[first]
    assert run.updates_to_target(0.0) is None and run.time_to_target(0.0) is None


def test_sweep_covers_the_grid_with_the_same_seed():
    cluster = ClusterSpec(workers=2, stragglers=StragglerSpec(probability=0.0, slowdown=3.0))
    policies = [PolicySpec("bsp"), PolicySpec("asp")]
    points = tradeoff_sweep(cluster, policies, workers=(2, 4), straggler_probabilities=(0.0, 0.5),
                            steps=6, target_loss=10.0, config=CFG)  # fmt: skip
    grid = {(p.workers, p.straggler_probability, p.label) for p in points}
    assert grid == {(n, q, lab) for n in (2, 4) for q in (0.0, 0.5) for lab in ("BSP", "ASP")}
    for p in points:  # every run starts below a loss of 10: reached at time 0, no update
        assert p.time_to_target_s == 0.0 and p.updates_to_target == 0
    no_stragglers = {p.label: p for p in points if p.workers == 4 and p.straggler_probability == 0}
    assert no_stragglers["BSP"].iterations_per_second == pytest.approx(4.0)  # 4 workers, 1 s steps
    assert no_stragglers["ASP"].iterations_per_second == pytest.approx(4.0)
    slow = {p.label: p for p in points if p.workers == 4 and p.straggler_probability == 0.5}
    # stragglers (3x, half the steps) took effect: BSP waits for them, ASP does not entirely
    assert slow["BSP"].iterations_per_second < slow["ASP"].iterations_per_second < 4.0
