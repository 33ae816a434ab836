"""Figures of failure-prone runs: where the time went, and the best checkpoint interval."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Patch

__all__ = ["plot_checkpoint_intervals", "plot_failure_timeline"]

_COLORS = {"compute": "tab:green", "lost": "tab:red", "checkpoint": "tab:blue",
           "lost-checkpoint": "tab:purple", "restart": "tab:gray"}  # fmt: skip
_WORDS = {"compute": "compute (kept)", "lost": "compute lost to a crash",
          "checkpoint": "checkpoint", "lost-checkpoint": "checkpoint cut short",
          "restart": "restart"}  # fmt: skip


def plot_failure_timeline(trace, *, title: str | None = None) -> Figure:
    """One bar through time coloured by what the job was doing; crashes as red triangles.

    Colours come with hatching and a legend in words, so they are not the only cue.
    """
    fig = Figure(figsize=(11, 2.6), layout="constrained")
    ax = fig.add_subplot()
    hatches = {"lost": "//", "lost-checkpoint": "xx", "restart": ".."}
    for span in trace.spans.rows():
        ax.barh(0, span.end_s - span.start_s, left=span.start_s, height=0.6,
                color=_COLORS[span.kind], hatch=hatches.get(span.kind, ""), edgecolor="white",
                linewidth=0.3)  # fmt: skip
    crashes = trace.failures["time_s"]
    ax.plot(crashes, [0.42] * len(crashes), "v", color="darkred", markersize=9)
    handles = [Patch(facecolor=_COLORS[k], hatch=hatches.get(k, ""), label=_WORDS[k])
               for k in _COLORS]  # fmt: skip
    handles.append(ax.plot([], [], "v", color="darkred", label="crash")[0])
    fig.legend(handles=handles, loc="outside lower center", ncols=6, fontsize=8)
    ax.set_yticks([])
    ax.set_xlabel("seconds")
    m = trace.meta
    ax.set_title(title or f"{m['nodes']} nodes, job MTBF {m['job_mtbf_s']:.0f} s, checkpoint "
                 f"every {m['checkpoint_every_steps']} steps: {len(crashes)} crash(es), "
                 f"{trace.makespan_s:.0f} s in all")  # fmt: skip
    return fig


def plot_checkpoint_intervals(points: Sequence, *, young_s: float, daly_s: float) -> Figure:
    """Mean makespan against the checkpoint interval: simulation (with error bars) and formula."""
    fig = Figure(figsize=(7.5, 4), layout="constrained")
    ax = fig.add_subplot()
    xs = [p.interval_s for p in points]
    hours = lambda values: [v / 3600 for v in values]
    ax.errorbar(xs, hours(p.mean_makespan_s for p in points),
                yerr=hours(2 * p.stderr_s for p in points), fmt="o", capsize=3,
                label="simulated mean (+/- 2 standard errors)")  # fmt: skip
    ax.plot(xs, hours(p.expected_makespan_s for p in points), "-", color="black", linewidth=1,
            label="expected (Daly 2006)")  # fmt: skip
    ax.axvline(young_s, color="tab:orange", linestyle="--", label=f"Young: {young_s:.0f} s")
    ax.axvline(daly_s, color="tab:red", linestyle=":", label=f"Daly: {daly_s:.0f} s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("compute seconds between checkpoints")
    ax.set_ylabel("hours to finish the job")
    ax.set_title("Checkpoint too often and you pay for writes; too rarely, for lost work")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig
