"""Closed forms of simlib.sim against hand-computed values from ../shared/REFERENCES.md."""

from __future__ import annotations

import math

import pytest

from simlib.errors import ConfigError
from simlib.sim import (
    all_gather_cost,
    allreduce_cost,
    amdahl_speedup,
    byteps_seconds,
    bytes_sent_by_rank,
    pipeline_cost,
    pipeline_schedule,
    ps_cost,
    reduce_scatter_cost,
    scaling_efficiency,
    zero_memory,
)

# p = 8 ranks, n = 8 MB, B = 1 GB/s, alpha = 10 us, gamma = 1 ns/byte.
P, N, B, A, G = 8, 8e6, 1e9, 1e-5, 1e-9


@pytest.mark.parametrize(
    ("algorithm", "latency", "bandwidth", "compute", "sent"),
    [
        ("ring", 14 * A, 2 * 7 / 8 * N / B, 7 / 8 * N * G, 2 * 7 / 8 * N),
        ("tree", 6 * A, 6 * N / B, 3 * N * G, 2 * 7 * N / 8),
        ("recursive-doubling", 3 * A, 3 * N / B, 3 * N * G, 3 * N),
        ("halving-doubling", 6 * A, 2 * 7 / 8 * N / B, 7 / 8 * N * G, 2 * 7 / 8 * N),
    ],
)
def test_allreduce_terms(algorithm, latency, bandwidth, compute, sent):
    cost = allreduce_cost(algorithm, P, N, B, A, G)
    assert cost.latency_seconds == pytest.approx(latency, rel=1e-12)
    assert cost.bandwidth_seconds == pytest.approx(bandwidth, rel=1e-12)
    assert cost.compute_seconds == pytest.approx(compute, rel=1e-12)
    assert cost.seconds == pytest.approx(latency + bandwidth + compute, rel=1e-12)
    assert cost.bytes_sent_per_rank == pytest.approx(sent, rel=1e-12)
    assert cost.algbw_bytes_per_s == pytest.approx(N / cost.seconds, rel=1e-12)
    assert cost.busbw_bytes_per_s == pytest.approx(N / cost.seconds * 2 * 7 / 8, rel=1e-12)


def test_ring_busbw_equals_link_bandwidth_without_latency():
    # nccl-tests: busbw is the per-link bandwidth a bandwidth-optimal algorithm achieves.
    assert allreduce_cost("ring", 16, 1e8, 5e9).busbw_bytes_per_s == pytest.approx(5e9)


def test_tree_with_ranks_not_a_power_of_two_uses_ceil_log2():
    cost = allreduce_cost("tree", 5, 1e6, 1e9, latency_s=1e-6)
    assert cost.seconds == pytest.approx(2 * 3 * (1e-6 + 1e-3))
    assert bytes_sent_by_rank("tree", 5, 1.0) == [3.0, 1.0, 2.0, 1.0, 1.0]
    assert sum(bytes_sent_by_rank("tree", 5, 1.0)) == 2 * (5 - 1)


def test_one_rank_costs_nothing():
    cost = allreduce_cost("ring", 1, 1e6, 1e9, 1e-5)
    assert cost.seconds == 0.0 and cost.bytes_sent_per_rank == 0.0
    assert math.isinf(cost.algbw_bytes_per_s)


def test_reduce_scatter_and_all_gather():
    rs = reduce_scatter_cost(4, 4e6, 1e9, 1e-5, 1e-9)
    assert rs.seconds == pytest.approx(3e-5 + 3e-3 + 3e-3 * 1e-9 * 1e9 / 1)  # gamma 3e6 B * 1 ns
    assert rs.busbw_bytes_per_s == pytest.approx(4e6 / rs.seconds * 3 / 4)
    ag = all_gather_cost(4, 4e6, 1e9, 1e-5)
    assert ag.seconds == pytest.approx(3e-5 + 3e-3)
    assert ag.bytes_sent_per_rank == 3e6
    ring = allreduce_cost("ring", 4, 4e6, 1e9, 1e-5, 1e-9)
    assert rs.seconds + ag.seconds == pytest.approx(ring.seconds)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: allreduce_cost("rng", 4, 1, 1), ["algorithm", "'rng'", "ring"]),
        (lambda: allreduce_cost("ring", 0, 1, 1), ["ranks", "0", ">= 1"]),
        (lambda: allreduce_cost("ring", 4, -1, 1), ["nbytes", "-1"]),
        (lambda: allreduce_cost("ring", 4, 1, 0), ["bandwidth_bytes_per_s", "> 0"]),
        (lambda: allreduce_cost("recursive-doubling", 6, 1, 1), ["ranks=6", "4 or 8"]),
        (lambda: allreduce_cost("ring", 2.5, 1, 1), ["ranks", "2.5", "whole"]),
        (lambda: ps_cost(4, 0, 1, 1), ["servers", "0"]),
        (
            lambda: pipeline_cost(4, 6, interleave=2, schedule="interleaved-1f1b"),
            ["multiple", "use 4 or 8"],
        ),
        (lambda: pipeline_cost(4, 8, interleave=2), ["interleaved-1f1b"]),
        (lambda: zero_memory(10, 2, 4), ["stage", "4", "0, 1, 2, 3"]),
        (lambda: amdahl_speedup(1.5, 2), ["parallel_fraction", "1.5"]),
    ],
)
def test_bad_arguments_name_argument_value_and_fix(call, words):
    with pytest.raises(ConfigError) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_interleaved_microbatch_hint_names_each_multiple_once():
    # m = 2 < p = 4: the only multiple of 4 to suggest is 4 (not "4 or 4").
    with pytest.raises(ConfigError) as info:
        pipeline_cost(4, 2, interleave=2, schedule="interleaved-1f1b")
    assert str(info.value).endswith("(Megatron-LM's rule); use 4")


def test_ps_cost_worker_and_server_bound():
    # 8 workers, 2 servers, 1 GB model, 10 GB/s: server needs 8e9 / 2e10 = 0.4 s > 0.1 s.
    cost = ps_cost(8, 2, 1e9, 1e10, latency_s=1e-3)
    assert cost.seconds == pytest.approx(0.401) and cost.bottleneck == "server"
    assert cost.bytes_per_server == 4e9 and cost.bytes_total == 8e9
    both = ps_cost(8, 2, 1e9, 1e10, latency_s=1e-3, pull=True)
    assert both.seconds == pytest.approx(0.802) and both.bytes_total == 16e9
    fast_servers = ps_cost(8, 2, 1e9, 1e10, server_bandwidth_bytes_per_s=1e11)
    assert fast_servers.seconds == pytest.approx(0.1) and fast_servers.bottleneck == "worker"
    assert ps_cost(4, 4, 1e9, 1e9).bottleneck == "balanced"


def test_byteps_ends():
    n, m, b = 8, 1e9, 1e10
    assert byteps_seconds(n, 0, m, b) == pytest.approx(allreduce_cost("ring", n, m, b).seconds)
    assert byteps_seconds(n, n, m, b) == pytest.approx(m / b)
    assert byteps_seconds(n, 3 * n, m, b) == pytest.approx(m / b)
    assert byteps_seconds(n, 0, m, b) > byteps_seconds(n, 2, m, b) > byteps_seconds(n, 4, m, b)
    # By hand, n = 4 and k = 2: 2 * 4 * 3 M / ((16 + 8 - 4) B) = 24 / 20 M/B = 1.2 M/B.
    assert byteps_seconds(4, 2, 1e9, 1e9) == pytest.approx(1.2)
    assert byteps_seconds(4, 2, 3e9, 1e10) == pytest.approx(1.2 * 0.3)


@pytest.mark.parametrize(
    ("schedule", "p", "m", "v", "makespan", "in_flight"),
    [
        ("gpipe", 4, 8, 1, 11 * 3.0, 8),
        ("1f1b", 4, 8, 1, 11 * 3.0, 4),
        ("1f1b", 4, 2, 1, 5 * 3.0, 2),
        ("interleaved-1f1b", 4, 8, 2, 8 * 3.0 + 3 * 3.0 / 2, 5.5),
    ],
)
def test_pipeline_cost(schedule, p, m, v, makespan, in_flight):
    cost = pipeline_cost(p, m, 1.0, 2.0, v, schedule)
    assert cost.makespan_seconds == pytest.approx(makespan)
    assert cost.bubble_over_ideal == pytest.approx((p - 1) / (v * m))
    assert cost.bubble_fraction == pytest.approx((p - 1) / (v * m + p - 1))
    assert cost.activations_in_flight == in_flight


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b", "interleaved-1f1b"])
@pytest.mark.parametrize(("p", "m"), [(1, 1), (2, 2), (3, 6), (4, 4), (4, 12), (8, 16)])
@pytest.mark.parametrize(("tf", "tb"), [(1.0, 2.0), (0.7, 0.3)])
def test_pipeline_schedule_runs_to_the_closed_form(schedule, p, m, tf, tb):
    for v in [1, 2, 3] if schedule == "interleaved-1f1b" else [1]:
        run = pipeline_schedule(p, m, tf, tb, v, schedule)
        assert run.makespan_seconds == pytest.approx(run.cost.makespan_seconds, rel=1e-12)
        assert run.activations_in_flight == pytest.approx(run.cost.activations_in_flight)
        assert len(run.ops) == 2 * p * m * v
        busy = sum(op.end_s - op.start_s for op in run.ops)
        assert busy == pytest.approx(p * m * (tf + tb))  # the ideal work, all of it done once


def test_pipeline_schedule_tiny_gpipe_exact():
    ops = pipeline_schedule(2, 2, 1.0, 1.0, schedule="gpipe").ops
    got = sorted((o.start_s, o.device, o.kind, o.microbatch) for o in ops)
    assert got == [
        (0.0, 0, "F", 0),
        (1.0, 0, "F", 1),
        (1.0, 1, "F", 0),
        (2.0, 1, "F", 1),
        (3.0, 1, "B", 0),
        (4.0, 0, "B", 0),
        (4.0, 1, "B", 1),
        (5.0, 0, "B", 1),
    ]


@pytest.mark.parametrize(
    ("stage", "expected"),
    # ZeRO paper, Figure 1: Psi = 7.5 B, N_d = 64, K = 12.
    [(0, 120e9), (1, 31.40625e9), (2, 16.640625e9), (3, 1.875e9)],
)
def test_zero_memory_matches_the_paper(stage, expected):
    cost = zero_memory(7_500_000_000, 64, stage)
    assert cost.bytes_per_device == pytest.approx(expected)
    parts = cost.parameter_bytes + cost.gradient_bytes + cost.optimizer_bytes
    assert parts == pytest.approx(cost.bytes_per_device)
    assert cost.communication_factor == (1.5 if stage == 3 else 1.0)


def test_amdahl_and_efficiency():
    assert amdahl_speedup(0.9, 10) == pytest.approx(1 / 0.19)
    assert amdahl_speedup(1.0, 64) == pytest.approx(64)
    assert amdahl_speedup(0.0, 64) == 1.0
    assert scaling_efficiency(10.0, 2.0, 8) == pytest.approx(0.625)
