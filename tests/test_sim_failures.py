"""Failures, checkpoints and restarts in the simulator (issue 6, item 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simlib.errors import ConfigError
from simlib.sim.failures import (
    FailureSpec,
    JobSpec,
    checkpoint_interval_sweep,
    daly_interval_s,
    expected_makespan_s,
    mean_makespan_s,
    simulate_failures,
    young_interval_s,
)

NEVER = 1e15  # a node MTBF so long that no crash is drawn


def spans(trace):
    return [(s.kind, s.first_step, s.last_step, round(s.start_s, 9), round(s.end_s, 9))
            for s in trace.spans.rows()]  # fmt: skip


def test_exact_trace_with_a_crash_in_compute_and_one_in_a_restart():
    trace = simulate_failures(JobSpec(4, 1.0, 2), FailureSpec(1, NEVER, 0.5, 2.0),
                              failure_times_s=[1.5, 6.2, 7.0])  # fmt: skip
    assert spans(trace) == [
        ("lost", 0, 1, 0.0, 1.5), ("restart", 0, 0, 1.5, 3.5),
        ("compute", 0, 1, 3.5, 5.5), ("checkpoint", 0, 1, 5.5, 6.0),
        ("lost", 2, 3, 6.0, 6.2), ("restart", 2, 2, 6.2, 7.0), ("restart", 2, 2, 7.0, 9.0),
        ("compute", 2, 3, 9.0, 11.0), ("checkpoint", 2, 3, 11.0, 11.5),
    ]  # fmt: skip
    assert [(f.time_s, round(f.lost_s, 9)) for f in trace.failures.rows()] == [
        (1.5, 1.5), (6.2, 0.2), (7.0, 0.0)
    ]
    assert trace.makespan_s == 11.5
    assert trace.seconds("lost") == pytest.approx(1.7) and trace.seconds("restart") == 4.8


def test_a_crash_during_a_checkpoint_write_loses_that_checkpoint():
    trace = simulate_failures(JobSpec(4, 1.0, 2), FailureSpec(1, NEVER, 0.5, 2.0),
                              failure_times_s=[2.2])  # fmt: skip
    assert spans(trace)[:3] == [
        ("lost", 0, 1, 0.0, 2.0), ("lost-checkpoint", 0, 1, 2.0, 2.2), ("restart", 0, 0, 2.2, 4.2)
    ]
    assert trace.makespan_s == pytest.approx(2.2 + 2.0 + 2 * 2.5)


def test_without_crashes_the_makespan_is_work_plus_checkpoints():
    job, failures = JobSpec(10, 3.0, 4), FailureSpec(8, NEVER, 1.5, 60.0)
    trace = simulate_failures(job, failures, seed=1)
    assert len(trace.failures) == 0
    assert trace.makespan_s == pytest.approx(10 * 3.0 + 3 * 1.5)  # segments of 4, 4, 2 steps
    assert expected_makespan_s(job, failures) == pytest.approx(trace.makespan_s, rel=1e-9)


def test_young_and_daly_intervals():
    assert young_interval_s(60.0, 3600.0) == pytest.approx(math.sqrt(2 * 60 * 3600))
    c, m = 60.0, 3600.0
    x = c / (2 * m)
    daly = math.sqrt(2 * c * m) * (1 + math.sqrt(x) / 3 + x / 9) - c
    assert daly_interval_s(c, m) == pytest.approx(daly)
    assert daly_interval_s(5000.0, 1000.0) == 1000.0  # C >= 2M: checkpoint every M


def test_simulated_mean_makespan_matches_dalys_expectation():
    failures = FailureSpec(nodes=64, node_mtbf_s=64 * 3600.0, checkpoint_s=60.0, restart_s=120.0)
    for every in (5, 20):
        job = JobSpec(steps=400, step_seconds=36.0, checkpoint_every_steps=every)
        mean, err = mean_makespan_s(job, failures, runs=400, seed=7)
        assert abs(mean - expected_makespan_s(job, failures)) < 4 * err


def test_the_best_interval_is_near_young_daly():
    failures = FailureSpec(nodes=64, node_mtbf_s=64 * 3600.0, checkpoint_s=60.0, restart_s=120.0)
    step = 36.0
    grid = np.arange(1, 60)
    closed = [expected_makespan_s(JobSpec(2000, step, int(k)), failures) for k in grid]
    best_s = grid[int(np.argmin(closed))] * step
    assert abs(best_s - daly_interval_s(60.0, 3600.0)) <= step  # within one step of Daly
    assert abs(best_s - young_interval_s(60.0, 3600.0)) / best_s < 0.15
    points = checkpoint_interval_sweep(400, step, failures, [2, 17, 60], runs=150, seed=3)
    assert [p.every_steps for p in points] == [2, 17, 60]
    means = [p.mean_makespan_s for p in points]
    assert means[1] < means[0] and means[1] < means[2]  # too often and too rarely both cost


def test_same_seed_same_trace_and_node_ids_in_range():
    job, failures = JobSpec(200, 10.0, 10), FailureSpec(16, 16 * 500.0, 5.0, 20.0)
    a, b = simulate_failures(job, failures, seed=4), simulate_failures(job, failures, seed=4)
    assert a.spans == b.spans and a.failures == b.failures and len(a.failures) > 0
    assert set(a.failures["node"].tolist()) <= set(range(16))
    c = simulate_failures(job, failures, seed=5)
    assert not np.array_equal(a.failures["time_s"], c.failures["time_s"])
    kept = a.spans["kind"] == a.spans.code("kind", "compute")
    assert (a.spans["last_step"][kept] - a.spans["first_step"][kept] + 1).sum() == 200


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: JobSpec(0, 1.0, 1), "steps"),
        (lambda: JobSpec(10, -1.0, 1), "step_seconds"),
        (lambda: FailureSpec(4, 0.0, 1.0, 1.0), "node_mtbf_s"),
        (lambda: FailureSpec(4, 100.0, -1.0, 1.0), "checkpoint_s"),
    ],
)
def test_bad_specs_name_the_field(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_hopeless_intervals_are_refused_not_simulated_forever():
    """A 50 h segment on a job that fails every 13 minutes would need ~1e100 crashes."""
    from simlib.sim.failures import MAX_EXPECTED_CRASHES, expected_crashes

    failures = FailureSpec(nodes=4096, node_mtbf_s=0.1 * 365 * 24 * 3600, checkpoint_s=60.0,
                           restart_s=120.0)  # fmt: skip
    job = JobSpec(5000, 36.0, 5000)
    assert expected_crashes(job, failures) > MAX_EXPECTED_CRASHES
    assert expected_makespan_s(job, failures) > 1e100
    worse = FailureSpec(4096, 0.01 * 365 * 24 * 3600, 60.0, 120.0)  # (tau + C + R) / M > 700
    assert expected_makespan_s(job, worse) == math.inf == expected_crashes(job, worse)
    with pytest.raises(ConfigError, match=r"checkpoint_every_steps=5000.*checkpoint more often"):
        simulate_failures(job, failures)
    with pytest.raises(ConfigError, match="failure_times_s must be times >= 0"):
        simulate_failures(JobSpec(4, 1.0, 2), FailureSpec(1, NEVER, 0.5, 2.0),
                          failure_times_s=[-1.0])  # fmt: skip
