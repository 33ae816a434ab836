"""Figures of engine runs: loss curves, step times, and what the compiled program sends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_collectives", "plot_digits", "plot_losses", "plot_step_times"]

_STYLE_MARKERS = {"single": "o", "pmap": "s", "jit": "^", "shard_map": "x"}


def _label(report) -> str:
    cfg = report.config
    return f"{cfg.style} ({cfg.devices} device{'s' if cfg.devices > 1 else ''})"


def plot_losses(reports: Sequence, *, title: str = "Training loss") -> Figure:
    """Loss per step of several runs on one axis (``TrainReport``-like: ``.losses``, ``.config``).

    Runs that compute the same thing lie on top of each other; markers keep each visible.
    """
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    for i, report in enumerate(reports):
        steps = range(1, len(report.losses) + 1)
        marker = _STYLE_MARKERS.get(report.config.style, "o")
        ax.plot(
            steps, report.losses, marker=marker, markevery=max(len(steps) // 10, 1),
            markersize=7 - i, linewidth=2.5 - 0.4 * i, alpha=0.85, label=_label(report),
        )  # fmt: skip
    ax.set_xlabel("step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss (cross-entropy)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_step_times(reports: Sequence, *, title: str = "Time per step") -> Figure:
    """Median step time of each run as bars, with the compile time written on each bar."""
    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.add_subplot()
    labels = [_label(r) for r in reports]
    medians = [r.median_step_seconds * 1e3 for r in reports]
    bars = ax.bar(labels, medians, color="tab:blue")
    for bar, report in zip(bars, reports, strict=True):
        ax.annotate(f"compile {report.compile_seconds:.2f} s", (bar.get_x() + bar.get_width() / 2,
                    bar.get_height()), ha="center", va="bottom", fontsize=8)  # fmt: skip
    ax.set_ylabel("median step (ms)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_collectives(
    summaries: Mapping[str, Sequence[Mapping]], *, param_bytes: int | None = None
) -> Figure:
    """Bytes each run's collectives carry per step, stacked by kind.

    Args:
        summaries: run label -> ``simlib.engine.summarize(collectives(hlo))`` rows
            (``kind``, ``bytes``, ``count``, ``ring_bytes_sent_per_device``).
        param_bytes: draw the model's parameter bytes as a reference line.
    """
    fig = Figure(figsize=(7, 3.8), layout="constrained")
    ax = fig.add_subplot()
    labels = list(summaries)
    kinds = sorted({row["kind"] for rows in summaries.values() for row in rows})
    bottoms = [0.0] * len(labels)
    for kind in kinds:
        heights = [
            sum(r["bytes"] * r["count"] for r in summaries[label] if r["kind"] == kind)
            for label in labels
        ]
        ax.bar(labels, heights, bottom=bottoms, label=f"{kind} (operand bytes per step)")
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    sent = [sum(r["ring_bytes_sent_per_device"] for r in summaries[label]) for label in labels]
    ax.scatter(labels, sent, color="black", marker="D", zorder=3,
               label="bytes each device sends (ring)")  # fmt: skip
    if param_bytes is not None:
        ax.axhline(param_bytes, color="tab:red", linestyle="--", label="parameter bytes")
    ax.set_ylabel("bytes per step")
    ax.set_title("What the compiled program communicates")
    ax.grid(axis="y", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=3, fontsize=8)
    return fig


def plot_digits(dataset, count: int = 16, *, columns: int = 8) -> Figure:
    """The first ``count`` images of an 8x8 digits data set, with their labels."""
    rows = -(-count // columns)
    fig = Figure(figsize=(columns * 0.9, rows * 1.05), layout="constrained")
    side = int(np.sqrt(dataset.num_features))
    for i in range(count):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.imshow(dataset.x[i].reshape(side, side), cmap="gray_r", interpolation="nearest")
        ax.set_title(str(dataset.y[i]), fontsize=9)
        ax.set_axis_off()
    return fig
