"""Timelines of simulated runs: what every worker did when, and pipeline schedules.

Colours are the same in every figure: compute blue, communicate orange, blocked red, reduce
purple; forward passes blue and backward passes green in pipeline charts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

__all__ = ["KIND_COLORS", "plot_pipeline", "plot_timeline"]

KIND_COLORS = {
    "compute": "#4C72B0",
    "communicate": "#DD8452",
    "blocked": "#C44E52",
    "reduce": "#8172B3",
}


def _chosen_workers(trace, workers: Sequence[int] | None, max_workers: int) -> list[int]:
    if workers is not None:
        return list(workers)
    return list(range(min(trace.workers, max_workers)))


def plot_timeline(
    trace,
    *,
    workers: Sequence[int] | None = None,
    max_workers: int = 16,
    until_s: float | None = None,
    title: str | None = None,
) -> Figure:
    """Per-worker timeline of a simulation: compute, communicate and blocked spans.

    Args:
        trace: a :class:`simlib.sim.Trace`.
        workers: which workers to draw (default the first ``max_workers``).
        max_workers: how many workers to draw when ``workers`` is not given.
        until_s: draw from 0 to this time (default: the whole run).
        title: the title (default: the policy and cluster size).

    Returns:
        Figure, one row per worker (worker 0 on top).
    """
    from simlib.sim.metrics import makespan_seconds

    chosen = _chosen_workers(trace, workers, max_workers)
    end = until_s or makespan_seconds(trace) or 1.0
    fig = Figure(figsize=(9, 1.2 + 0.32 * len(chosen)), layout="constrained")
    ax = fig.add_subplot()
    spans = trace.spans
    names = spans.names("kind")
    in_view = (spans["start_s"] < end) & np.isin(spans["actor"], chosen)
    edge = 1.2 if in_view.sum() <= 60 * len(chosen) else 0.0  # separate spans while they're wide
    for row, worker in enumerate(chosen):
        mine = (spans["actor"] == worker) & (spans["start_s"] < end)
        for code, kind in enumerate(names):
            pick = mine & (spans["kind"] == code)
            if pick.any():
                starts = spans["start_s"][pick]
                widths = np.minimum(spans["end_s"][pick], end) - starts
                ax.broken_barh(
                    list(zip(starts, widths, strict=True)),
                    (row - 0.4, 0.8),
                    facecolors=KIND_COLORS[kind],
                    edgecolor="white",
                    linewidth=edge,
                )
    ax.set_yticks(range(len(chosen)), [f"worker {w}" for w in chosen])
    ax.set_ylim(len(chosen) - 0.5, -0.5)
    ax.set_xlim(0, end)
    ax.set_xlabel("simulated time (s)")
    shown = "" if len(chosen) == trace.workers else f" (first {len(chosen)} shown)"
    ax.set_title(title or f"{trace.meta.get('label', 'run')}: {trace.workers} workers{shown}")
    present = {names[c] for c in np.unique(spans["kind"])}
    handles = [Patch(color=c, label=k) for k, c in KIND_COLORS.items() if k in present]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_pipeline(schedule, *, title: str | None = None) -> Figure:
    """A pipeline schedule as a chart: one row per device, a box per forward/backward pass.

    Args:
        schedule: a :class:`simlib.sim.PipelineSchedule` (see :func:`simlib.sim.pipeline_schedule`).
        title: the title (default: schedule, sizes and bubble fraction).

    Returns:
        Figure; boxes show the microbatch number (with the chunk when interleaved).
    """
    cost = schedule.cost
    fig = Figure(figsize=(10, 1.1 + 0.45 * cost.stages), layout="constrained")
    ax = fig.add_subplot()
    colors = {"F": "#4C72B0", "B": "#55A868"}
    for op in schedule.ops:
        width = op.end_s - op.start_s
        shade = 1.0 - 0.35 * op.chunk / max(cost.interleave - 1, 1)
        ax.broken_barh(
            [(op.start_s, width)],
            (op.device - 0.4, 0.8),
            facecolors=colors[op.kind],
            alpha=shade,
            edgecolor="white",
            linewidth=0.8,
        )
        if width >= schedule.makespan_seconds / 60:
            label = f"{op.microbatch}" + (f"/{op.chunk}" if cost.interleave > 1 else "")
            ax.text(
                op.start_s + width / 2,
                op.device,
                label,
                ha="center",
                va="center",
                fontsize=7,
                color="white",
            )
    ax.set_yticks(range(cost.stages), [f"device {d}" for d in range(cost.stages)])
    ax.set_ylim(cost.stages - 0.5, -0.5)
    ax.set_xlim(0, schedule.makespan_seconds)
    ax.set_xlabel("time (s)")
    ax.set_title(
        title
        or (
            f"{cost.schedule}: {cost.stages} stages, {cost.microbatches} microbatches"
            + (f", {cost.interleave} chunks per device" if cost.interleave > 1 else "")
            + f" - bubble {100 * cost.bubble_fraction:.0f}% of {schedule.makespan_seconds:g} s"
        )
    )
    handles = [
        Patch(color=colors[k], label=name) for k, name in (("F", "forward"), ("B", "backward"))
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
    return fig
