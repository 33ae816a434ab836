"""Event-level collectives and parameter-server rounds take exactly their closed-form time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlib.errors import ConfigError
from simlib.sim import (
    ClusterSpec,
    NetworkSpec,
    PolicySpec,
    bytes_per_link,
    bytes_sent_by_rank,
    ps_cost,
    run_collective,
    run_ps_round,
    simulate,
)

REL = 1e-9
sizes = st.floats(min_value=1.0, max_value=1e10)
bandwidths = st.floats(min_value=1e6, max_value=1e12)
latencies = st.floats(min_value=0.0, max_value=1e-2)
gammas = st.floats(min_value=0.0, max_value=1e-8)


@settings(max_examples=60, deadline=None)
@given(
    algorithm=st.sampled_from(["ring", "tree", "recursive-doubling", "halving-doubling"]),
    exponent=st.integers(0, 4),
    odd=st.integers(1, 13),
    n=sizes,
    b=bandwidths,
    a=latencies,
    g=gammas,
)
def test_allreduce_event_level_equals_closed_form(algorithm, exponent, odd, n, b, a, g):
    power_of_two = algorithm in ("recursive-doubling", "halving-doubling")
    p = 2**exponent if power_of_two else odd
    run = run_collective("all-reduce", p, n, b, a, g, algorithm)
    assert run.seconds == pytest.approx(run.cost.seconds, rel=REL, abs=0.0)


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(["reduce-scatter", "all-gather"]),
    p=st.integers(1, 12),
    n=sizes,
    b=bandwidths,
    a=latencies,
    g=gammas,
)
def test_ring_reduce_scatter_and_all_gather_equal_closed_form(kind, p, n, b, a, g):
    run = run_collective(kind, p, n, b, a, g)
    assert run.seconds == pytest.approx(run.cost.seconds, rel=REL, abs=0.0)


@settings(max_examples=40, deadline=None)
@given(
    workers=st.integers(1, 12),
    servers=st.integers(1, 5),
    m=sizes,
    b_w=bandwidths,
    server_factor=st.floats(0.05, 20.0),
    a=latencies,
    pull=st.booleans(),
)
def test_ps_round_equals_closed_form_with_1_to_k_servers(
    workers, servers, m, b_w, server_factor, a, pull
):
    b_s = b_w * server_factor
    run = run_ps_round(workers, servers, m, b_w, b_s, a, pull)
    assert run.seconds == pytest.approx(run.cost.seconds, rel=REL, abs=0.0)
    sent = run.trace.messages["nbytes"].sum()
    assert sent == pytest.approx(run.cost.bytes_total, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    workers=st.integers(1, 16),
    servers=st.integers(1, 4),
    m=sizes,
    b_w=bandwidths,
    server_factor=st.floats(0.05, 20.0),
    a=latencies,
    compute=st.floats(1e-3, 10.0),
)
def test_bsp_parameter_server_step_is_pull_compute_push(
    workers, servers, m, b_w, server_factor, a, compute
):
    # One BSP step of identical workers: pull (closed form), compute, push (closed form).
    net = NetworkSpec(b_w, b_w * server_factor, a)
    cluster = ClusterSpec(
        workers=workers, step_seconds=compute, servers=servers, model_bytes=m, network=net
    )
    trace = simulate(cluster, PolicySpec("bsp"), steps=1)
    expected = (
        ps_cost(workers, servers, m, b_w, b_w * server_factor, a, pull=True).seconds + compute
    )
    assert trace.updates["applied_s"].max() == pytest.approx(expected, rel=REL)


def test_four_rank_ring_exact_trace():
    # n = 4 MB, B = 1 GB/s, alpha = 0.1 ms: chunks of 1 MB, each step 0.1 ms + 1 ms.
    run = run_collective("all-reduce", 4, 4e6, 1e9, 1e-4)
    step = 1.1e-3
    assert run.seconds == pytest.approx(6 * step)
    msgs = sorted(run.trace.messages.rows(), key=lambda m: (m.send_s, m.src))
    assert len(msgs) == 24
    for i, m in enumerate(msgs):
        g, src = divmod(i, 4)
        assert (m.src, m.dst, m.kind, m.nbytes) == (src, (src + 1) % 4, "chunk", 1e6)
        assert m.received_bytes == pytest.approx(1e6, rel=1e-12)
        assert m.send_s == pytest.approx(g * step, abs=1e-15)
        assert m.start_s == pytest.approx(g * step + 1e-4, abs=1e-15)
        assert m.recv_s == pytest.approx((g + 1) * step, abs=1e-15)
    spans = sorted(run.trace.spans.rows(), key=lambda s: (s.actor, s.start_s))
    assert len(spans) == 24  # each rank waits on its own 6 chunk steps, back to back
    for i, s in enumerate(spans):
        rank, g = divmod(i, 6)
        assert (s.actor, s.kind, s.step) == (rank, "communicate", -1)
        assert s.start_s == pytest.approx(g * step, abs=1e-15)
        assert s.end_s == pytest.approx((g + 1) * step, abs=1e-15)


def test_tree_exact_trace_on_three_ranks():
    # Binomial tree, p = 3: rank 1 -> 0, then 2 -> 0 (it waits for 0's receive), then broadcast.
    run = run_collective("all-reduce", 3, 1e6, 1e6, 0.0, 0.0, "tree")
    got = sorted((m.send_s, m.src, m.dst, m.recv_s) for m in run.trace.messages.rows())
    assert got == [(0.0, 1, 0, 1.0), (1.0, 2, 0, 2.0), (2.0, 0, 2, 3.0), (3.0, 0, 1, 4.0)]
    assert run.cost.seconds == 4.0


_POWER_OF_TWO_ONLY = ("recursive-doubling", "halving-doubling")
_CASES = [
    (algorithm, p)
    for algorithm in ("ring", "tree", *_POWER_OF_TWO_ONLY)
    for p in (1, 2, 4, 8, 5)
    if not (algorithm in _POWER_OF_TWO_ONLY and p & (p - 1))
]


@pytest.mark.parametrize("algorithm", _POWER_OF_TWO_ONLY)
def test_power_of_two_algorithms_refuse_other_rank_counts(algorithm):
    with pytest.raises(ConfigError, match="ranks=5 is not a power of two"):
        run_collective("all-reduce", 5, 8e6, 1e9, 0.0, 0.0, algorithm)


@pytest.mark.parametrize(("algorithm", "p"), _CASES)
def test_chunks_sent_per_rank_match_bytes_sent_by_rank(algorithm, p):
    run = run_collective("all-reduce", p, 8e6, 1e9, 0.0, 0.0, algorithm)
    msgs = run.trace.messages
    for rank, expected in enumerate(bytes_sent_by_rank(algorithm, p, 8e6)):
        assert msgs["nbytes"][msgs["src"] == rank].sum() == pytest.approx(expected)
        assert msgs["nbytes"][msgs["dst"] == rank].sum() == pytest.approx(expected)
    # bytes_per_link counts them once, through the collective's record
    links = bytes_per_link(run.trace)
    assert sum(v for k, v in links.items() if k.endswith(".out")) == pytest.approx(
        msgs["nbytes"].sum()
    )


def test_every_chunk_is_received_whole():
    for algorithm in ("ring", "tree", "halving-doubling"):
        msgs = run_collective("all-reduce", 8, 3e6, 2e9, 1e-5, 0.0, algorithm).trace.messages
        assert msgs["received_bytes"] == pytest.approx(msgs["nbytes"], rel=1e-9)
        assert (msgs["recv_s"] >= msgs["start_s"]).all() and (
            msgs["start_s"] >= msgs["send_s"]
        ).all()


@pytest.mark.parametrize("algorithm", ["ring", "tree", "recursive-doubling", "halving-doubling"])
def test_mean_bytes_sent_is_the_closed_form_of_the_per_rank_list(algorithm):
    """The O(1) mean (what allreduce_cost reports) equals the mean of the O(p) list."""
    from simlib.sim.collectives import bytes_sent_by_rank, mean_bytes_sent

    power = algorithm in ("recursive-doubling", "halving-doubling")
    for p in [1, 2, 4, 8, 64, 256] if power else range(1, 70):
        listed = bytes_sent_by_rank(algorithm, p, 3.0)
        assert mean_bytes_sent(algorithm, p, 3.0) == pytest.approx(sum(listed) / p, rel=1e-12)
