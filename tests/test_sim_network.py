"""Max-min fair sharing: the solver, the general network, and the parameter-server tier."""

from __future__ import annotations

import math

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from simlib.sim import Network, ServerTier, max_min_rates


def test_max_min_rates_by_hand():
    assert max_min_rates([("a",), ("a", "b"), ("b",)], {"a": 2.0, "b": 10.0}) == [1.0, 1.0, 9.0]
    # b caps the shared flow at 0.5; the other two split what is left of a: (3 - 0.5) / 2.
    rates = max_min_rates([("a",), ("a",), ("a", "b")], {"a": 3.0, "b": 0.5})
    assert rates == pytest.approx([1.25, 1.25, 0.5])
    assert max_min_rates([], {}) == []


def _network_run(flows, bandwidth):
    """flows: (start_s, src, dst, nbytes); returns each flow's arrival time."""
    env = simpy.Environment()
    net = Network(env, bandwidth)
    done = {}

    def send(i, start, src, dst, nbytes):
        yield env.timeout(start)
        yield net.send(src, dst, nbytes)
        done[i] = env.now

    for i, flow in enumerate(flows):
        env.process(send(i, *flow))
    env.run()
    return [done[i] for i in range(len(flows))]


def test_two_flows_share_a_nic_then_the_survivor_speeds_up():
    # 0 -> 1 (1 MB) and 0 -> 2 (2 MB) on 1 MB/s NICs: 0.5 MB/s each until t = 2, then 1 MB/s.
    assert _network_run([(0, 0, 1, 1e6), (0, 0, 2, 2e6)], [1e6] * 3) == [2.0, 3.0]
    # A late second flow slows the first from the moment it starts.
    assert _network_run([(0, 0, 1, 1e6), (0.5, 0, 2, 0.5e6)], [1e6] * 3) == [1.5, 1.5]


def test_receiver_side_bottleneck_leaves_sender_capacity_to_others():
    # 0 -> 2 is capped by node 2's slow NIC (0.25); 0 -> 1 gets the rest of node 0's NIC (0.75).
    arrivals = _network_run([(0, 0, 1, 0.75e6), (0, 0, 2, 0.25e6)], [1e6, 1e6, 0.25e6])
    assert arrivals == pytest.approx([1.0, 1.0])


def _tier_vs_network(workers, servers, b_w, b_s, latency, plans):
    """Every worker sends messages (gap before, bytes) one after another; both ways."""
    return [_send_all(use_tier, workers, servers, b_w, b_s, latency, plans) for use_tier in (1, 0)]


def _send_all(use_tier, workers, servers, b_w, b_s, latency, plans):
    env = simpy.Environment()
    tier = ServerTier(env, b_w, b_s, servers)
    net = Network(env, [b_w] * workers + [b_s] * servers, latency)
    times = []

    def worker(w, plan):
        for gap, nbytes in plan:
            yield env.timeout(gap)
            if use_tier:
                yield tier.transfer(nbytes, latency)
            else:
                yield env.all_of(
                    [net.send(w, workers + j, nbytes / servers) for j in range(servers)]
                )
            times.append((w, env.now))

    for w, plan in enumerate(plans):
        env.process(worker(w, plan))
    env.run()
    return sorted(times)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    workers=st.integers(1, 5),
    servers=st.integers(1, 3),
    b_w=st.floats(1e3, 1e9),
    server_factor=st.floats(0.1, 10.0),
    latency=st.floats(0.0, 1e-2),
)
def test_server_tier_equals_max_min_network(data, workers, servers, b_w, server_factor, latency):
    message = st.tuples(st.floats(0.0, 2.0), st.floats(1.0, 1e7))
    plans = [data.draw(st.lists(message, min_size=1, max_size=4)) for _ in range(workers)]
    tier, network = _tier_vs_network(workers, servers, b_w, b_w * server_factor, latency, plans)
    assert [w for w, _ in tier] == [w for w, _ in network]
    for (_, t1), (_, t2) in zip(tier, network, strict=True):
        assert t1 == pytest.approx(t2, rel=1e-9, abs=1e-12)


def test_infinite_bandwidth_costs_only_latency():
    env = simpy.Environment()
    tier = ServerTier(env, math.inf, math.inf, 2)
    got = []

    def go():
        got.append((yield tier.transfer(5e6, 0.25)))

    env.process(go())
    env.run()
    assert env.now == 0.25 and got == [5e6]
