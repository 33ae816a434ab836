"""Metrics read from traces, checked on runs small enough to work out by hand; and figures."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from simlib.sim import (
    ClusterSpec,
    NetworkSpec,
    PolicySpec,
    StragglerSpec,
    blocked_seconds_per_worker,
    bytes_per_link,
    bytes_per_server,
    iterations_per_worker,
    link_traffic,
    makespan_seconds,
    max_clock_lead,
    nic_utilisation,
    pipeline_schedule,
    run_collective,
    scaling_sweep,
    seconds_per_worker,
    simulate,
    summarize,
    throughput,
)
from simlib.viz import (
    plot_pipeline,
    plot_server_traffic,
    plot_speedup,
    plot_staleness,
    plot_time_breakdown,
    plot_time_per_worker,
    plot_timeline,
    simulation_figures,
)


@pytest.fixture(scope="module")
def ssp_trace():
    return simulate(
        ClusterSpec(workers=2, step_seconds=[1.0, 3.0]), PolicySpec("ssp", staleness=1), steps=3
    )


@pytest.fixture(scope="module")
def bsp_comm_trace():
    # Two workers, one server, 1 MB model, 1 MB/s NICs: pulls [0, 2], compute [2, 3], pushes [3, 5].
    cluster = ClusterSpec(workers=2, step_seconds=1.0, model_bytes=1e6, network=NetworkSpec(1e6))
    return simulate(cluster, PolicySpec("bsp"), steps=1)


def test_progress_and_waiting(ssp_trace):
    assert iterations_per_worker(ssp_trace) == [3, 3]
    assert blocked_seconds_per_worker(ssp_trace) == [1.0, 0.0]
    assert seconds_per_worker(ssp_trace, "compute") == [3.0, 9.0]
    assert makespan_seconds(ssp_trace) == 9.0
    assert throughput(ssp_trace) == pytest.approx(6 / 9)


def test_max_clock_lead(ssp_trace):
    # Worker 0 read at t = 1 for step 1 while worker 1 had no clock yet: a lead of 1 = s.
    assert max_clock_lead(ssp_trace) == 1
    asp = simulate(ClusterSpec(workers=2, step_seconds=[1.0, 3.0]), PolicySpec("asp"), steps=6)
    assert max_clock_lead(asp) == 4  # worker 0 reads for step 5 at t = 5; worker 1 has 1 clock


def test_bytes_per_link_and_server(bsp_comm_trace):
    assert bytes_per_link(bsp_comm_trace) == {
        "worker0.in": 1e6,
        "worker0.out": 1e6,
        "worker1.in": 1e6,
        "worker1.out": 1e6,
        "server0.in": 2e6,
        "server0.out": 2e6,
    }
    assert bytes_per_server(bsp_comm_trace) == {"server0": 4e6}


def test_link_traffic_is_exact_for_parameter_servers(bsp_comm_trace):
    edges, into_server = link_traffic(bsp_comm_trace, 2, "in", bins=5)
    assert edges.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert into_server == pytest.approx([0, 0, 0, 1e6, 1e6])
    assert link_traffic(bsp_comm_trace, 2, "out", bins=5)[1] == pytest.approx([1e6, 1e6, 0, 0, 0])
    assert link_traffic(bsp_comm_trace, 0, "out", bins=5)[1] == pytest.approx([0, 0, 0, 5e5, 5e5])


def test_nic_utilisation(bsp_comm_trace):
    assert nic_utilisation(bsp_comm_trace, 2, "in", bins=5)[1] == pytest.approx([0, 0, 0, 1, 1])
    assert nic_utilisation(bsp_comm_trace, 1, "in", bins=5)[1] == pytest.approx([0.5, 0.5, 0, 0, 0])
    ring = run_collective("all-reduce", 4, 4e6, 1e9).trace  # no latency: the link is always busy
    assert nic_utilisation(ring, 3, "out", bins=6)[1] == pytest.approx([1.0] * 6)


def test_link_traffic_never_exceeds_the_nic_under_contention():
    cluster = ClusterSpec(
        workers=12,
        step_seconds=0.05,
        servers=2,
        model_bytes=1e6,
        stragglers=StragglerSpec("lognormal", 0.5),
        network=NetworkSpec(1e7, 2e7, 1e-4),
    )
    trace = simulate(cluster, PolicySpec("asp"), steps=10, seed=3)
    for node in (12, 13):
        edges, rate = link_traffic(trace, node, "in", bins=40)
        assert rate.max() <= 2e7 * (1 + 1e-9)
        assert (rate * np.diff(edges)).sum() == pytest.approx(
            bytes_per_link(trace)[f"server{node - 12}.in"]
        )


def test_collective_traffic_through_a_link():
    run = run_collective("all-reduce", 4, 4e6, 1e9, 1e-4)
    edges, rate = link_traffic(run.trace, 0, "out", bins=66)
    assert (rate * np.diff(edges)).sum() == pytest.approx(6e6)
    assert rate.max() == pytest.approx(1e9)


def test_fast_path_bytes_come_from_collective_records():
    cluster = ClusterSpec(workers=4, step_seconds=1.0, model_bytes=1e8, network=NetworkSpec(1e9))
    trace = simulate(cluster, PolicySpec("bsp", comm="allreduce"), steps=3)
    links = bytes_per_link(trace)
    assert links["worker3.out"] == pytest.approx(3 * 2 * 3 / 4 * 1e8)
    assert makespan_seconds(trace) == pytest.approx(3 * (1.0 + 2 * 3 / 4 * 1e8 / 1e9))


def test_summarize_has_the_cli_fields(ssp_trace):
    out = summarize(ssp_trace)
    assert {
        "iterations_per_worker",
        "blocked_seconds_per_worker",
        "staleness_histogram",
        "bytes_per_link",
        "bytes_per_server",
        "makespan_seconds",
    } <= set(out)


def test_scaling_sweep_speedup_by_hand():
    # Compute 1 s, ring all-reduce of 1 GB at 1 GB/s: a step takes 1 + 2 (N-1)/N s for N gradients.
    make = lambda n: ClusterSpec(
        workers=n, step_seconds=1.0, model_bytes=1e9, network=NetworkSpec(1e9)
    )  # noqa: E731
    points = scaling_sweep(make, PolicySpec("bsp", comm="allreduce"), [1, 2, 4], steps=3)
    assert [p.workers for p in points] == [1, 2, 4]
    assert [p.speedup for p in points] == pytest.approx([1.0, 2 / 2.0, 4 / 2.5])
    assert points[2].efficiency == pytest.approx(0.4)


def test_figures_are_figures(ssp_trace, bsp_comm_trace):
    runs = {"ssp": ssp_trace, "bsp": bsp_comm_trace}
    figures = [
        plot_timeline(ssp_trace),
        plot_staleness(runs),
        plot_time_breakdown(runs),
        plot_time_per_worker(ssp_trace),
        plot_server_traffic(bsp_comm_trace),
        plot_pipeline(pipeline_schedule(4, 8)),
        plot_speedup(
            {
                "free": scaling_sweep(
                    lambda n: ClusterSpec(workers=n), PolicySpec(), [1, 2], steps=1
                )
            },
            amdahl_fractions=[0.9],
        ),
        plot_timeline(run_collective("all-reduce", 4, 1e6, 1e9).trace),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    timeline = figures[0].axes[0]
    assert [t.get_text() for t in timeline.get_yticklabels()] == ["worker 0", "worker 1"]
    bars = figures[1].axes[0].patches  # staleness shares of each run sum to one
    assert sum(b.get_height() for b in bars) == pytest.approx(2.0)
    assert sorted(simulation_figures(bsp_comm_trace)) == [
        "server_traffic",
        "staleness",
        "time_per_worker",
        "timeline",
    ]
