"""Figures of real training under simulated schedules: loss against time and against updates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_loss_vs_time", "plot_tradeoff"]


def plot_loss_vs_time(runs: Sequence, *, target_loss: float | None = None) -> Figure:
    """Two panels: each policy's loss against simulated seconds, and against gradients applied.

    Args:
        runs: ``simlib.engine.PolicyRun`` objects (``.label``, ``.report``).
        target_loss: draw the target as a dashed line and mark when each policy reaches it.
    """
    fig = Figure(figsize=(11, 4), layout="constrained")
    by_time, by_updates = fig.subplots(1, 2, sharey=True)
    for run in runs:
        r = run.report
        (line,) = by_time.plot(r.times_s, r.losses, label=run.label, linewidth=1.8)
        by_updates.plot(r.updates, r.losses, color=line.get_color(), linewidth=1.8)
        if target_loss is not None and r.time_to_target(target_loss) is not None:
            by_time.plot(r.time_to_target(target_loss), target_loss, "o", color=line.get_color())
    by_time.set_xlabel("simulated seconds (hardware efficiency)")
    by_updates.set_xlabel("gradients applied (statistical efficiency)")
    by_time.set_ylabel("loss on the evaluation set")
    by_time.set_title("Loss against wall-clock time")
    by_updates.set_title("Loss against updates")
    for ax in (by_time, by_updates):
        ax.grid(alpha=0.3)
        if target_loss is not None:
            ax.axhline(target_loss, color="gray", linestyle="--", linewidth=1)
    by_time.legend()
    return fig


def plot_tradeoff(points: Sequence, *, target_loss: float) -> Figure:
    """Time to the target loss against straggler probability, one panel per cluster size.

    A policy that never reached the target within the run is drawn as an open marker at the top.
    """
    sizes = sorted({p.workers for p in points})
    labels = list(dict.fromkeys(p.label for p in points))
    fig = Figure(figsize=(4.2 * len(sizes), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(sizes), sharey=True))
    reached = [p.time_to_target_s for p in points if p.time_to_target_s is not None]
    ceiling = 1.1 * max(reached, default=1.0)
    for ax, n in zip(axes, sizes, strict=True):
        for label in labels:
            mine = sorted((p for p in points if p.workers == n and p.label == label),
                          key=lambda p: p.straggler_probability)  # fmt: skip
            xs = [p.straggler_probability for p in mine]
            ys = [p.time_to_target_s if p.time_to_target_s is not None else ceiling for p in mine]
            (line,) = ax.plot(xs, ys, marker="o", label=label)
            missed = [(x, ceiling) for x, p in zip(xs, mine, strict=True)
                      if p.time_to_target_s is None]  # fmt: skip
            if missed:
                ax.plot(*zip(*missed, strict=True), "o", markerfacecolor="white",
                        color=line.get_color())  # fmt: skip
        ax.set_title(f"{n} workers")
        ax.set_xlabel("straggler probability per step")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"simulated seconds to loss {target_loss:g}")
    axes[-1].legend(fontsize=8)
    return fig
