"""Figures of simulated clusters: staleness, where time goes, server traffic, speed-up.

Every function reads traces (or sweeps of them) and returns a ``matplotlib.figure.Figure``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from simlib.viz.timeline import KIND_COLORS, plot_timeline

__all__ = [
    "plot_server_traffic",
    "plot_speedup",
    "plot_staleness",
    "plot_time_breakdown",
    "plot_time_per_worker",
    "simulation_figures",
]


def _as_mapping(traces) -> Mapping:
    if isinstance(traces, Mapping):
        return traces
    return {traces.meta.get("label", "run"): traces}


def plot_staleness(traces, *, title: str = "Staleness of applied gradients") -> Figure:
    """Histogram of staleness (server versions between read and apply) of applied gradients.

    Args:
        traces: a Trace, or ``{label: Trace}`` to compare policies on one axis.
        title: the title.
    """
    from simlib.sim.metrics import staleness

    runs = _as_mapping(traces)
    values = {label: staleness(t) for label, t in runs.items()}
    top = max((int(v.max()) for v in values.values() if len(v)), default=0)
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(len(runs), 1)
    for i, (label, v) in enumerate(values.items()):
        counts = np.bincount(v, minlength=top + 1) / max(len(v), 1)
        x = np.arange(top + 1) - 0.4 + width * (i + 0.5)
        mean = float(v.mean()) if len(v) else 0.0
        ax.bar(
            x,
            counts,
            width=width,
            label=f"{label} (mean {mean:.1f}, max {int(v.max()) if len(v) else 0})",
        )
    ax.set_xlabel("staleness (versions applied between reading and applying)")
    ax.set_ylabel("share of applied gradients")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _time_shares(trace) -> dict[str, float]:
    from simlib.sim.metrics import makespan_seconds, seconds_per_worker

    total = makespan_seconds(trace) * trace.workers or 1.0
    return {
        k: sum(seconds_per_worker(trace, k)) / total for k in ("compute", "communicate", "blocked")
    }


def plot_time_breakdown(traces, *, title: str = "Where the workers' time goes") -> Figure:
    """For each run, the share of worker time spent computing, communicating and blocked.

    Args:
        traces: a Trace or ``{label: Trace}``; the rest of each bar (to 100%) is idle time
            after a worker finished its steps.
    """
    runs = _as_mapping(traces)
    fig = Figure(figsize=(8, 0.9 + 0.55 * len(runs)), layout="constrained")
    ax = fig.add_subplot()
    labels = list(runs)
    left = np.zeros(len(labels))
    shares = [_time_shares(runs[label]) for label in labels]
    for kind in ("compute", "communicate", "blocked"):
        widths = np.array([s[kind] for s in shares])
        bars = ax.barh(labels, widths, left=left, color=KIND_COLORS[kind], label=kind)
        ax.bar_label(
            bars,
            [f"{100 * v:.0f}%" if v >= 0.06 else "" for v in widths],
            label_type="center",
            color="white",
            fontsize=8,
        )
        left += widths
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("share of (workers x makespan); the rest is idle after finishing")
    ax.set_title(title)
    fig.legend(loc="outside lower center", ncol=3, frameon=False, fontsize=8)
    return fig


def plot_time_per_worker(trace, *, max_workers: int = 32, title: str | None = None) -> Figure:
    """Seconds each worker spent computing, communicating and blocked (stacked bars)."""
    from simlib.sim.metrics import seconds_per_worker

    n = min(trace.workers, max_workers)
    fig = Figure(figsize=(8, 3.4), layout="constrained")
    ax = fig.add_subplot()
    bottom = np.zeros(n)
    for kind in ("compute", "communicate", "blocked"):
        heights = np.array(seconds_per_worker(trace, kind)[:n])
        ax.bar(range(n), heights, bottom=bottom, color=KIND_COLORS[kind], label=kind)
        bottom += heights
    ax.set_xlabel("worker")
    ax.set_ylabel("seconds")
    ax.set_title(title or f"{trace.meta.get('label', 'run')}: time per worker")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _server_curves(trace, direction: str, bins: int):
    """[(label, edges, bytes/s)]: one curve per server, or one if all servers carry the same."""
    from simlib.sim.metrics import link_traffic

    curves = [
        link_traffic(trace, trace.workers + j, direction, bins=bins) for j in range(trace.servers)
    ]
    word = "into" if direction == "in" else "out of"
    if all(np.allclose(rate, curves[0][1]) for _, rate in curves):
        which = "the server" if trace.servers == 1 else f"each of the {trace.servers} servers"
        return [(f"{word} {which}", *curves[0])]
    return [(f"{word} server {j}", *curve) for j, curve in enumerate(curves)]


def plot_server_traffic(
    trace, *, bins: int = 60, directions: Sequence[str] = ("in", "out"), title: str | None = None
) -> Figure:
    """Bytes per second into (pushes) and out of (pulls) each parameter server over time.

    Exact for parameter-server traces (see :func:`simlib.sim.link_traffic`); the dashed line is
    a server NIC's bandwidth, which each direction has to itself (full duplex).
    """
    fig = Figure(figsize=(8, 3.4), layout="constrained")
    ax = fig.add_subplot()
    styles = {"in": {"linewidth": 1.8}, "out": {"linewidth": 1.2, "linestyle": "-", "alpha": 0.7}}
    for direction in directions:
        for label, edges, rate in _server_curves(trace, direction, bins):
            ax.stairs(rate / 1e9, edges, label=label, **styles[direction])
    capacity = trace.meta.get("server_bandwidth_bytes_per_s")
    if capacity and np.isfinite(capacity):
        ax.axhline(
            capacity / 1e9, color="black", linestyle="--", linewidth=1, label="NIC bandwidth"
        )
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("GB/s")
    ax.set_ylim(bottom=0)
    ax.set_title(title or f"{trace.meta.get('label', 'run')}: traffic through the servers' NICs")
    ax.grid(alpha=0.3)
    if trace.servers:
        fig.legend(loc="outside lower center", fontsize=8, ncol=3, frameon=False)
    return fig


def plot_speedup(
    curves: Mapping[str, Sequence],
    *,
    amdahl_fractions: Sequence[float] = (),
    metric: str = "speedup",
    title: str = "Speed-up as workers grow",
) -> Figure:
    """Speed-up (or throughput) against workers for each sweep, with the ideal line.

    Args:
        curves: ``{label: [ScalingPoint, ...]}`` from :func:`simlib.sim.scaling_sweep`.
        amdahl_fractions: parallel fractions f whose Amdahl curve ``1/((1-f)+f/N)`` to draw
            (speed-up only).
        metric: "speedup" (each curve against its own one-worker run) or "throughput"
            (applied gradients per second, comparable across curves; the ideal line is N times
            the best one-worker throughput).
        title: the title.
    """
    from simlib.sim import amdahl_speedup

    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    sizes = sorted({p.workers for points in curves.values() for p in points} or {1})
    if metric == "throughput":
        one = max(
            (p.throughput_updates_per_s for ps in curves.values() for p in ps if p.workers == 1),
            default=1.0,
        )
        ax.plot(
            sizes,
            [one * n for n in sizes],
            color="grey",
            linestyle=":",
            label="ideal (N x one worker)",
        )
    else:
        ax.plot(sizes, sizes, color="grey", linestyle=":", label="ideal (N)")
    for f in amdahl_fractions if metric == "speedup" else ():
        dense = np.unique(np.geomspace(1, max(sizes), 60).round().astype(int))
        ax.plot(
            dense,
            [amdahl_speedup(f, int(n)) for n in dense],
            linestyle="--",
            linewidth=1,
            label=f"Amdahl, f = {f:g}",
        )
    for label, points in curves.items():
        values = [
            p.throughput_updates_per_s if metric == "throughput" else p.speedup for p in points
        ]
        ax.plot([p.workers for p in points], values, marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("workers")
    ax.set_ylabel(
        "gradients applied per second" if metric == "throughput" else "speed-up over one worker"
    )
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def simulation_figures(trace) -> dict[str, Figure]:
    """The figures ``simlib simulate --plot DIR`` writes: ``{file stem: Figure}``."""
    figures = {
        "timeline": plot_timeline(trace),
        "time_per_worker": plot_time_per_worker(trace),
        "staleness": plot_staleness(trace),
    }
    if trace.servers and len(trace.messages):
        figures["server_traffic"] = plot_server_traffic(trace)
    return figures
