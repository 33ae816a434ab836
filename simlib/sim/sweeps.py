"""Many simulations at once: speed-up as workers grow, and policies side by side.

These are what the notebooks and dashboards plot; each point is one :func:`simulate` run, and
every number comes from the trace's metrics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from simlib.sim.cluster import ClusterSpec
from simlib.sim.metrics import makespan_seconds, throughput
from simlib.sim.policies import PolicySpec
from simlib.sim.runner import simulate
from simlib.sim.trace import Trace

__all__ = [
    "ScalingPoint",
    "closed_form_step_seconds",
    "compare_architectures",
    "compare_policies",
    "policy_summary",
    "scaling_sweep",
]


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


def policy_summary(traces: Mapping[str, Trace]) -> list[dict]:
    """One row per run: throughput, where time went, staleness (what the dashboards tabulate)."""
    import numpy as np

    from simlib.sim.metrics import seconds_per_worker, staleness

    rows = []
    for label, trace in traces.items():
        total = makespan_seconds(trace) * trace.workers or 1.0
        stale = staleness(trace)
        rows.append({
            "policy": label, "makespan_seconds": makespan_seconds(trace),
            "throughput_updates_per_s": throughput(trace),
            "blocked_share": sum(seconds_per_worker(trace, "blocked")) / total,
            "compute_share": sum(seconds_per_worker(trace, "compute")) / total,
            "mean_staleness": float(np.mean(stale)) if len(stale) else 0.0,
            "max_staleness": int(stale.max()) if len(stale) else 0,
            "dropped_updates": int((~trace.updates["applied"]).sum()),
        })  # fmt: skip
    return rows


def compare_architectures(
    workers: Sequence[int],
    *,
    servers: int,
    model_bytes: float,
    worker_bandwidth_bytes_per_s: float,
    server_bandwidth_bytes_per_s: float | None = None,
    step_seconds: float = 0.1,
    latency_s: float = 0.0,
    steps: int = 5,
    seed: int = 0,
) -> dict[str, list[ScalingPoint]]:
    """BSP through one server, through ``servers`` shards, and by ring all-reduce, as N grows.

    The same model, NICs and compute for all three; each point is a simulation. With identical
    workers (no stragglers) each step takes exactly ``compute + ps_cost(..., pull=True)`` or
    ``compute + allreduce_cost("ring", ...)``, so the curves can be checked against the
    closed forms (see :func:`closed_form_step_seconds`).

    Returns:
        ``{"1 parameter server": [...], "<k> server shards": [...], "ring all-reduce": [...]}``.
    """
    from simlib.sim.cluster import NetworkSpec

    net = NetworkSpec(worker_bandwidth_bytes_per_s, server_bandwidth_bytes_per_s, latency_s)
    make = lambda k: (
        lambda n: ClusterSpec(  # noqa: E731
            workers=n, step_seconds=step_seconds, servers=k, model_bytes=model_bytes, network=net
        )
    )
    curves = {
        "1 parameter server": scaling_sweep(
            make(1), PolicySpec("bsp"), workers, steps=steps, seed=seed
        )
    }
    if servers > 1:
        curves[f"{servers} server shards"] = scaling_sweep(
            make(servers), PolicySpec("bsp"), workers, steps=steps, seed=seed
        )
    curves["ring all-reduce"] = scaling_sweep(
        make(1), PolicySpec("bsp", comm="allreduce"), workers, steps=steps, seed=seed
    )
    return curves


def closed_form_step_seconds(
    architecture: str,
    workers: int,
    *,
    servers: int = 1,
    model_bytes: float,
    worker_bandwidth_bytes_per_s: float,
    server_bandwidth_bytes_per_s: float | None = None,
    step_seconds: float = 0.1,
    latency_s: float = 0.0,
) -> float:
    """Seconds of one BSP step of identical workers: compute plus the communication formula.

    ``architecture`` is "ps" (``ps_cost(..., pull=True)``) or "allreduce" (ring all-reduce).

    Example:
        >>> closed_form_step_seconds("ps", 8, servers=2, model_bytes=1e9,
        ...                          worker_bandwidth_bytes_per_s=1e10, step_seconds=0.1)
        0.9
    """
    from simlib.sim.collectives import allreduce_cost
    from simlib.sim.parameter_server import ps_cost

    if architecture == "ps":
        comm = ps_cost(workers, servers, model_bytes, worker_bandwidth_bytes_per_s,
                       server_bandwidth_bytes_per_s, latency_s, pull=True)  # fmt: skip
    else:
        comm = allreduce_cost("ring", workers, model_bytes, worker_bandwidth_bytes_per_s, latency_s)
    return step_seconds + comm.seconds
