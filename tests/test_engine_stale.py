"""Stale replay: the simulator's schedule trained for real (issue 6, items 1 and 'must hold')."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from helpers import assert_trees_allclose

from simlib.engine import DPConfig, train_data_parallel
from simlib.engine.data import digits, global_batches
from simlib.engine.model import init_mlp, loss_fn
from simlib.engine.stale import ReplayConfig, ReplayError, replay
from simlib.sim import ClusterSpec, PolicySpec, StragglerSpec, simulate

CFG = ReplayConfig(hidden=(32,), batch_per_worker=8, learning_rate=0.2, eval_every=1)
CLUSTER = ClusterSpec(workers=4, step_seconds=[1.0, 1.3, 1.7, 2.9],
                      stragglers=StragglerSpec(probability=0.2, slowdown=3.0))  # fmt: skip


def naive_replay(trace, cfg: ReplayConfig):
    """An independent, obvious implementation: keep every version, apply groups in order.

    Linear scaling: a group of k gradients moves the parameters by lr * k * their mean.
    """
    up = trace.updates
    data = digits()
    n, b = trace.workers, cfg.batch_per_worker
    batches = global_batches(data, n * b, int(up["step"].max()) + 1, seed=cfg.seed)
    versions = [init_mlp(jax.random.key(cfg.seed), (64, *cfg.hidden, 10))]
    groups: dict[int, list[int]] = {}
    for r in np.flatnonzero(up["applied"]):
        groups.setdefault(int(up["version_applied"][r]), []).append(int(r))
    for u in range(len(groups)):
        grads = []
        for r in groups[u]:
            s, w, v = int(up["step"][r]), int(up["worker"][r]), int(up["version_read"][r])
            x, y = batches[s][0][w * b : (w + 1) * b], batches[s][1][w * b : (w + 1) * b]
            grads.append(jax.grad(loss_fn)(versions[v], x, y))
        mean = jax.tree.map(lambda *g: sum(g) / len(g), *grads)
        eta = cfg.learning_rate * len(grads)
        versions.append(jax.tree.map(lambda p, g, eta=eta: p - eta * g, versions[-1], mean))
    return versions[-1]


@pytest.mark.parametrize(("scaling", "sync_lr"), [("linear", 4 * 0.2), ("none", 0.2)])
def test_bsp_replay_is_synchronous_data_parallel_training(scaling, sync_lr):
    """4 workers x batch 8 under BSP = synchronous SGD on batch 32 (lr x 4 under linear)."""
    trace = simulate(CLUSTER, PolicySpec("bsp"), steps=25, seed=3)
    cfg = ReplayConfig(hidden=(32,), batch_per_worker=8, learning_rate=0.2, lr_scaling=scaling)
    report = replay(trace, cfg)
    sync = train_data_parallel(DPConfig(style="single", devices=1, steps=25, batch_size=32,
                                        hidden=(32,), learning_rate=sync_lr))  # fmt: skip
    assert_trees_allclose(report.params, sync.params, atol=2e-5)
    assert report.gradients == 100 and not report.staleness.any()


@pytest.mark.parametrize(
    "policy",
    [PolicySpec("asp"), PolicySpec("ssp", staleness=1), PolicySpec("backup", backup_workers=1)],
    ids=["asp", "ssp1", "backup1"],
)
def test_replay_equals_an_independent_version_by_version_replay(policy):
    trace = simulate(CLUSTER, policy, steps=12, seed=5)
    report = replay(trace, CFG)
    assert_trees_allclose(report.params, naive_replay(trace, CFG), atol=2e-5)


@pytest.mark.parametrize("s", [0, 1, 3])
def test_staleness_of_every_update_is_the_traces_and_ssp_keeps_its_bound(s):
    trace = simulate(CLUSTER, PolicySpec("ssp", staleness=s), steps=15, seed=s)
    up = trace.updates
    order = np.lexsort((up["apply_id"], up["version_applied"]))
    expected = (up["version_applied"] - up["version_read"])[order]
    np.testing.assert_array_equal(replay(trace, CFG).staleness, expected)
    # SSP guarantee (Ho et al. 2013): a worker at clock c has seen every update of clocks
    # <= c - s - 1, i.e. each of those was applied before the version it read.
    for w, c, v in zip(up["worker"], up["step"], up["version_read"], strict=True):
        older = up["step"] <= c - s - 1
        assert np.all(up["version_applied"][older] < v), (w, c, v)
    if s == 0:
        assert expected.max() <= trace.workers - 1  # at most the other workers' gradients


def test_local_sgd_replay_matches_replicas_averaged_every_h_steps():
    trace = simulate(CLUSTER, PolicySpec("local-sgd", local_steps=3), steps=9, seed=1)
    report = replay(trace, CFG)
    n, b = 4, CFG.batch_per_worker
    batches = global_batches(digits(), n * b, 9, seed=0)
    replicas = [init_mlp(jax.random.key(0), (64, 32, 10))] * n
    for t in range(9):
        for w in range(n):
            x, y = batches[t][0][w * b : (w + 1) * b], batches[t][1][w * b : (w + 1) * b]
            g = jax.grad(loss_fn)(replicas[w], x, y)
            replicas[w] = jax.tree.map(lambda p, gi: p - 0.2 * n * gi, replicas[w], g)
        if t % 3 == 2:
            replicas = [jax.tree.map(lambda *a: sum(a) / n, *replicas)] * n
    assert_trees_allclose(report.params, replicas[0], atol=2e-5)
    sync_times = sorted(trace.collectives["end_s"].tolist())
    assert report.times_s.tolist() == [0.0, *sync_times]


def test_loss_curve_is_reproducible_and_reports_time_to_target():
    trace = simulate(CLUSTER, PolicySpec("asp"), steps=20, seed=2)
    a, b = replay(trace, CFG), replay(trace, CFG)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.losses[-1] < a.losses[0]
    assert a.times_s[0] == 0.0 and np.all(np.diff(a.times_s) >= 0)
    assert a.times_s[-1] == pytest.approx(trace.updates["applied_s"].max())
    target = float(a.losses[len(a.losses) // 2])
    first = int(np.flatnonzero(a.losses <= target)[0])
    assert a.time_to_target(target) == a.times_s[first]
    assert a.time_to_target(-1.0) is None
    other = replay(trace, ReplayConfig(hidden=(32,), batch_per_worker=8, seed=1))
    assert not np.array_equal(other.losses, a.losses)


def test_eval_every_thins_the_curve_but_not_the_training():
    trace = simulate(CLUSTER, PolicySpec("asp"), steps=10, seed=2)
    dense = replay(trace, CFG)
    sparse = replay(trace, ReplayConfig(hidden=(32,), batch_per_worker=8, learning_rate=0.2,
                                        eval_every=7))  # fmt: skip
    assert len(sparse.losses) == 1 + -(-40 // 7)
    assert sparse.updates.tolist() == [0, 7, 14, 21, 28, 35, 40]
    np.testing.assert_allclose(sparse.losses, dense.losses[sparse.updates], rtol=1e-5)


def test_a_trace_without_updates_is_a_clear_error():
    trace = simulate(CLUSTER, PolicySpec("asp"), until_s=0.5)
    with pytest.raises(ReplayError, match="no applied updates"):
        replay(trace, CFG)


def test_local_sgd_cut_off_between_averages_counts_every_workers_own_steps():
    """Workers at 1 s and 2.2 s, H = 4, cut at 5 s: worker 0 did 4 steps, worker 1 only 2,
    nobody averaged yet; the model shown is the average of the two replicas as they stand,
    at the time the last of those steps landed (4.4 s, worker 1's second step)."""
    trace = simulate(ClusterSpec(workers=2, step_seconds=[1.0, 2.2]),
                     PolicySpec("local-sgd", local_steps=4), until_s=5.0)  # fmt: skip
    report = replay(trace, CFG)
    assert report.times_s.tolist() == [0.0, 4.4] and report.updates.tolist() == [0, 6]
    b = CFG.batch_per_worker
    batches = global_batches(digits(), 2 * b, 4, seed=0)
    replicas = [init_mlp(jax.random.key(0), (64, 32, 10))] * 2
    for w, steps in ((0, 4), (1, 2)):
        for t in range(steps):
            x, y = batches[t][0][w * b : (w + 1) * b], batches[t][1][w * b : (w + 1) * b]
            g = jax.grad(loss_fn)(replicas[w], x, y)
            replicas[w] = jax.tree.map(lambda p, gi: p - 0.2 * 2 * gi, replicas[w], g)
    average = jax.tree.map(lambda a, c: (a + c) / 2, *replicas)
    assert_trees_allclose(report.params, average, atol=2e-5)
