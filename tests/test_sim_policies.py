"""Policies: exact tiny traces, and one conformance suite that every policy must pass."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlib.errors import ConfigError
from simlib.sim import (
    ClusterSpec,
    NetworkSpec,
    PolicySpec,
    StragglerSpec,
    blocked_seconds_per_worker,
    makespan_seconds,
    simulate,
    staleness_histogram,
)


def test_two_worker_ssp_exact_trace():
    # Worker 0 computes for 1 s, worker 1 for 3 s; SSP(s=1), 3 steps, no communication.
    trace = simulate(
        ClusterSpec(workers=2, step_seconds=[1.0, 3.0]), PolicySpec("ssp", staleness=1), steps=3
    )
    updates = sorted(
        (
            u.applied_s,
            u.worker,
            u.step,
            u.version_read,
            u.version_applied,
            u.read_s,
            u.compute_start_s,
            u.compute_end_s,
            u.applied,
        )
        for u in trace.updates.rows()
    )
    assert updates == [
        (1.0, 0, 0, 0, 0, 0.0, 0.0, 1.0, True),
        (2.0, 0, 1, 1, 1, 1.0, 1.0, 2.0, True),
        (3.0, 1, 0, 0, 2, 0.0, 0.0, 3.0, True),  # read version 0, two updates landed meanwhile
        (4.0, 0, 2, 3, 3, 3.0, 3.0, 4.0, True),  # worker 0 waited at clock 2 for worker 1
        (6.0, 1, 1, 3, 4, 3.0, 3.0, 6.0, True),
        (9.0, 1, 2, 5, 5, 6.0, 6.0, 9.0, True),
    ]
    spans = sorted((s.start_s, s.actor, s.kind, s.step, s.end_s) for s in trace.spans.rows())
    assert spans == [
        (0.0, 0, "compute", 0, 1.0),
        (0.0, 1, "compute", 0, 3.0),
        (1.0, 0, "compute", 1, 2.0),
        (2.0, 0, "blocked", 2, 3.0),
        (3.0, 0, "compute", 2, 4.0),
        (3.0, 1, "compute", 1, 6.0),
        (6.0, 1, "compute", 2, 9.0),
    ]
    assert staleness_histogram(trace) == {0: 4, 1: 1, 2: 1}
    kinds = [(type(e).__name__, getattr(e, "kind", "")) for e in trace.events()][:5]
    assert kinds == [("Span", "compute"), ("Span", "compute"), ("Update", ""),
                     ("Span", "compute"), ("Update", "")]  # fmt: skip


def test_two_worker_bsp_with_communication_exact_trace():
    # 1 MB model, 1 MB/s NICs, one server: two pulls share its NIC (2 s), compute 1 s, two
    # pushes share it again (2 s): ps_cost(2, 1, 1e6, 1e6, pull=True) = 4 s, plus 1 s.
    cluster = ClusterSpec(workers=2, step_seconds=1.0, model_bytes=1e6, network=NetworkSpec(1e6))
    trace = simulate(cluster, PolicySpec("bsp"), steps=1)
    msgs = sorted(
        (m.send_s, m.kind, m.src, m.dst, m.nbytes, m.recv_s) for m in trace.messages.rows()
    )
    assert msgs == [
        (0.0, "pull", 2, 0, 1e6, 2.0),
        (0.0, "pull", 2, 1, 1e6, 2.0),
        (3.0, "push", 0, 2, 1e6, 5.0),
        (3.0, "push", 1, 2, 1e6, 5.0),
    ]
    assert trace.updates["applied_s"].tolist() == [5.0, 5.0]
    assert trace.meta["events"] > 0


def test_bsp_blocks_as_long_through_servers_as_through_an_all_reduce():
    # Workers at 1, 1 and 3 s, 12 steps, free communication: every step lasts 3 s and the two
    # fast workers wait 2 s of each, the last barrier included: 12 x 2 = 24 s on either path.
    cluster = ClusterSpec(workers=3, step_seconds=[1.0, 1.0, 3.0])
    for comm in ("ps", "allreduce"):
        trace = simulate(cluster, PolicySpec("bsp", comm=comm), steps=12)
        assert blocked_seconds_per_worker(trace) == [24.0, 24.0, 0.0], comm
        assert makespan_seconds(trace) == 36.0
    spans = simulate(cluster, PolicySpec("bsp"), steps=12).spans
    blocked = sorted(
        (s.actor, s.step, s.start_s, s.end_s) for s in spans.rows() if s.kind == "blocked"
    )
    # through servers a span is labelled with the step it waits to start; the last barrier's
    # is step 12, from the end of the fast workers' last compute (34 s) to the round (36 s)
    assert blocked[0] == (0, 1, 1.0, 3.0) and blocked[-1] == (1, 12, 34.0, 36.0)
    assert len(blocked) == 2 * 12 and len(spans) == 3 * 12 + 2 * 12


def test_backup_workers_drop_the_late_gradient():
    # Worker 2 is 4x slower; b = 1: every round closes with workers 0 and 1 (t = 1, 2, 3, 4).
    # Worker 2's round-0 gradient lands at t = 4, just before round 3 closes: dropped; it then
    # joins round 3, which closes without it, and its gradient (t = 8) is dropped too.
    trace = simulate(
        ClusterSpec(workers=3, step_seconds=[1.0, 1.0, 4.0]),
        PolicySpec("backup", backup_workers=1),
        steps=4,
    )
    rows = sorted((u.applied_s, u.worker, u.step, u.applied) for u in trace.updates.rows())
    assert [r for r in rows if r[1] == 2] == [(4.0, 2, 0, False), (8.0, 2, 3, False)]
    applied = [r for r in rows if r[3]]
    assert len(applied) == 8 and [r[0] for r in applied] == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]


def test_local_sgd_averages_every_h_steps():
    trace = simulate(
        ClusterSpec(workers=2, step_seconds=[1.0, 2.0]),
        PolicySpec("local-sgd", local_steps=3),
        steps=6,
    )
    cols = trace.collectives
    assert cols["step"].tolist() == [2, 5] and cols["start_s"].tolist() == [6.0, 12.0]
    local = trace.updates
    assert (local["scope"] == local.code("scope", "local")).all()
    assert sorted(set(local["version_read"].tolist())) == [0, 1]


# -- the conformance suite ---------------------------------------------------------------------

policies = st.one_of(
    st.just(PolicySpec("bsp")),
    st.just(PolicySpec("bsp", comm="allreduce")),
    st.just(PolicySpec("asp")),
    st.integers(0, 3).map(lambda s: PolicySpec("ssp", staleness=s)),
    st.integers(1, 3).map(lambda h: PolicySpec("local-sgd", local_steps=h)),
    st.integers(0, 2).map(lambda b: PolicySpec("backup", backup_workers=b)),
)


@st.composite
def clusters(draw):
    n = draw(st.integers(1, 6))
    stragglers = StragglerSpec(
        draw(st.sampled_from(["fixed", "lognormal"])),
        draw(st.floats(0.0, 0.5)),
        draw(st.floats(0.0, 0.5)),
        draw(st.floats(1.0, 5.0)),
    )
    network = NetworkSpec(
        draw(st.floats(1e5, 1e9)), draw(st.floats(1e5, 1e9)), draw(st.floats(0, 1e-2))
    )
    return ClusterSpec(
        workers=n,
        step_seconds=draw(st.lists(st.floats(0.01, 2.0), min_size=n, max_size=n)),
        stragglers=stragglers,
        servers=draw(st.integers(1, 3)),
        model_bytes=draw(st.sampled_from([0.0, 1e3, 1e6])),
        network=network,
    )


def _clock_at(trace, worker: int, t: float) -> int:
    u = trace.updates
    return int(((u["worker"] == worker) & (u["applied_s"] <= t) & u["applied"]).sum())


def check_invariants(trace, cluster: ClusterSpec, policy: PolicySpec, steps: int) -> None:
    u, n = trace.updates, cluster.workers
    pairs = Counter(zip(u["worker"].tolist(), u["step"].tolist(), strict=True))
    assert max(pairs.values(), default=1) == 1, "a gradient appears twice"
    if policy.name == "backup":
        applied = Counter(u["step"][u["applied"]].tolist())
        assert applied == {r: n - policy.backup_workers for r in range(steps)}
    else:  # every worker computed every step, and all of it was applied
        assert sorted(pairs) == [(w, s) for w in range(n) for s in range(steps)]
        assert u["applied"].all()
    ids = u["apply_id"][u["applied"]]
    for apply_id in np.unique(ids):  # an update's gradients are applied together, once
        same = u["applied"] & (u["apply_id"] == apply_id)
        assert len(set(u["applied_s"][same].tolist())) == 1
        assert len(set(u["version_applied"][same].tolist())) == 1
    if policy.comm == "ps":
        versions = np.unique(u["version_applied"][u["applied"]])
        assert versions.tolist() == list(range(len(versions))), "a version applied twice or skipped"
    staleness = u["version_applied"] - u["version_read"]
    assert (staleness[u["applied"]] >= 0).all()
    if policy.name == "bsp":
        assert (staleness == 0).all()
    if policy.name in ("bsp", "ssp"):  # nobody starts more than s clocks ahead of the slowest
        bound = policy.bound
        for step, read_s in zip(u["step"], u["read_s"], strict=True):
            slowest = min(_clock_at(trace, v, read_s) for v in range(n))
            assert step - slowest <= bound
    if policy.name == "ssp" or (policy.name == "bsp" and policy.comm == "ps"):
        _check_gate_opens_on_time(trace, n, int(policy.bound))
    if policy.name == "asp":
        assert not (trace.spans["kind"] == trace.spans.code("kind", "blocked")).any()
    msgs = trace.messages
    # every byte sent is received: received_bytes is the network's integral of rate x time (it
    # carries the rounding of float seconds, ~1e-15 s x the rate, hence the tolerance)
    assert msgs["received_bytes"] == pytest.approx(msgs["nbytes"], rel=1e-6)
    if policy.comm == "ps" and cluster.communicates:
        for kind, per_worker in (("push", len(u)), ("pull", len(u))):
            rows = msgs["kind"] == msgs.code("kind", kind)
            assert msgs["nbytes"][rows].sum() == pytest.approx(per_worker * cluster.model_bytes)
    assert (msgs["recv_s"] >= msgs["start_s"]).all() and (msgs["start_s"] >= msgs["send_s"]).all()
    _check_spans(trace)


def _check_gate_opens_on_time(trace, n: int, bound: int) -> None:
    """Each blocked span ends exactly when the slowest clock reaches its step - s, not later.

    A worker's clock reaches c when its gradient of step c - 1 arrives (``applied_s``: on
    arrival under SSP; BSP's round closes on the last arrival), so the gate for step k opens at
    ``max_v applied_s(v, k - s - 1)``; and a span exists only if the worker had to wait.
    """
    u, spans = trace.updates, trace.spans
    applied_at = {
        (w, step): t
        for w, step, t in zip(u["worker"].tolist(), u["step"].tolist(), u["applied_s"].tolist(),
                              strict=True)
    }  # fmt: skip
    blocked = spans.where(spans["kind"] == spans.code("kind", "blocked"))
    for start, end, step in zip(blocked["start_s"], blocked["end_s"], blocked["step"], strict=True):
        needed = int(step) - bound  # the smallest clock this step may start at
        assert needed >= 1, "blocked although the bound allowed it from the start"
        opens = max(applied_at[(v, needed - 1)] for v in range(n))
        assert end == opens, (step, end, opens)
        assert start < opens


def _check_spans(trace) -> None:
    """Each worker does one thing at a time."""
    s = trace.spans
    assert (s["end_s"] >= s["start_s"]).all()
    for w in range(trace.workers):
        mine = s["actor"] == w
        order = np.lexsort((s["end_s"][mine], s["start_s"][mine]))
        starts, ends = s["start_s"][mine][order], s["end_s"][mine][order]
        assert (starts[1:] >= ends[:-1] - 1e-9 * np.maximum(ends[:-1], 1)).all()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster=clusters(), policy=policies, steps=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_conformance(cluster, policy, steps, seed):
    if policy.name == "backup" and policy.backup_workers >= cluster.workers:
        with pytest.raises(ConfigError, match="backup_workers"):
            simulate(cluster, policy, steps=steps, seed=seed)
        return
    trace = simulate(cluster, policy, steps=steps, seed=seed)
    check_invariants(trace, cluster, policy, steps)
    assert simulate(cluster, policy, steps=steps, seed=seed) == trace  # same seed, same trace


def test_different_seeds_give_different_stragglers():
    cluster = ClusterSpec(workers=4, stragglers=StragglerSpec("lognormal", 0.3))
    a, b = (simulate(cluster, PolicySpec("asp"), steps=5, seed=s) for s in (1, 2))
    assert a != b and a.updates["compute_end_s"].tolist() != b.updates["compute_end_s"].tolist()


# -- the fast path is the event path ---------------------------------------------------------


_END = {"spans": "end_s", "updates": "applied_s", "collectives": "end_s"}


def _canonical(table):
    return sorted(tuple(r.__dict__.values()) for r in table.rows())


def _clear_of(table, name: str, until: float | None):
    """Rows that did not end within rounding of ``until`` (both paths round differently)."""
    if until is None:
        return table
    return table.where(np.abs(table[_END[name]] - until) > 1e-9 * until)


def _assert_same_rows(a, b):
    ra, rb = _canonical(a), _canonical(b)
    assert len(ra) == len(rb)
    for x, y in zip(ra, rb, strict=True):
        for u, v in zip(x, y, strict=True):
            assert u == (pytest.approx(v, rel=1e-9, abs=1e-12) if isinstance(v, float) else v)


@settings(max_examples=100, deadline=None)
@given(
    cluster=clusters(),
    h=st.integers(1, 4),
    local=st.booleans(),
    steps=st.integers(1, 7),
    until=st.one_of(st.none(), st.floats(0.1, 8.0)),
    seed=st.integers(0, 1000),
    algorithm=st.sampled_from(["ring", "tree", "recursive-doubling", "halving-doubling"]),
)
def test_fast_path_equals_event_path(cluster, h, local, steps, until, seed, algorithm):
    if algorithm in ("recursive-doubling", "halving-doubling") and cluster.workers & (
        cluster.workers - 1
    ):
        algorithm = "ring"
    policy = (
        PolicySpec("local-sgd", local_steps=h, algorithm=algorithm)
        if local
        else PolicySpec("bsp", comm="allreduce", algorithm=algorithm)
    )
    run = {"steps": steps} if until is None else {"until_s": until}
    fast = simulate(cluster, policy, method="fast", seed=seed, **run)
    events = simulate(cluster, policy, method="events", seed=seed, **run)
    for table in ("spans", "updates", "collectives"):
        _assert_same_rows(
            _clear_of(getattr(fast, table), table, until),
            _clear_of(getattr(events, table), table, until),
        )
    assert len(fast.messages) == 0


def test_fast_path_without_communication_is_exact():
    cluster = ClusterSpec(
        workers=5,
        step_seconds=[0.3, 0.1, 0.7, 0.2, 0.5],
        stragglers=StragglerSpec("lognormal", 0.4, 0.2, 3.0),
    )
    policy = PolicySpec("bsp", comm="allreduce")
    fast = simulate(cluster, policy, steps=20, seed=7, method="fast")
    events = simulate(cluster, policy, steps=20, seed=7, method="events")
    for table in ("spans", "updates", "collectives"):
        assert _canonical(getattr(fast, table)) == _canonical(getattr(events, table))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"steps": 3, "until_s": 2.0}, ["exactly one"]),
        ({}, ["exactly one"]),
        ({"steps": 0}, ["steps", "0"]),
        ({"steps": 3, "method": "fast"}, ["fast", "all-reduce"]),
        ({"steps": 3, "method": "quick"}, ["method", "'quick'"]),
        # 2 workers at 1 s: at most 1e6 worker-steps (the event loop's limit) is 5e5 s
        ({"until_s": 1e300}, ["until_s 1e+300", "2e+300 worker-steps", "at most 5e+05 s"]),
    ],
)
def test_bad_runs_are_config_errors(kwargs, words):
    with pytest.raises(ConfigError) as info:
        simulate(ClusterSpec(workers=2), PolicySpec("asp"), **kwargs)
    assert all(w in str(info.value) for w in words)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: ClusterSpec(workers=0), ["workers", "0"]),
        (lambda: ClusterSpec(workers=3, step_seconds=[1, 2]), ["2 values", "3 workers"]),
        (lambda: ClusterSpec(workers=2, step_seconds=-1), ["step_seconds[0]", "-1"]),
        (lambda: StragglerSpec(probability=2), ["stragglers.probability", "2"]),
        (lambda: StragglerSpec(slowdown=0.5), ["stragglers.slowdown", "0.5", ">= 1"]),
        (lambda: NetworkSpec(latency_s=-1), ["network.latency_s", "-1"]),
        (lambda: PolicySpec("ssp", staleness=-1), ["staleness", "-1"]),
        (lambda: PolicySpec("asp", comm="allreduce"), ["comm", "'allreduce'", "ps"]),
        (lambda: PolicySpec("hogwild"), ["policy", "'hogwild'", "bsp, asp"]),
    ],
)
def test_bad_specs_name_field_value_and_fix(make, words):
    with pytest.raises(ConfigError) as info:
        make()
    assert all(w in str(info.value) for w in words)
