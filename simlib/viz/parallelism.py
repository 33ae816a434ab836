"""Figures of model-parallel runs: memory per device, the pipeline's ticks, memory vs bytes sent.

Each function takes what ``simlib.engine`` reports (the dicts of ``tp_summary``, ``pp_summary``,
``zero_summary`` or ``strategy_fields``, or the tick table of ``gpipe_ticks``) and returns a
``matplotlib.figure.Figure``; nothing here trains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

__all__ = ["plot_bubble", "plot_memory_per_device", "plot_memory_vs_bytes", "plot_pipeline_ticks"]

_CATEGORIES = {
    "parameters": ("parameters", "#4C72B0"),
    "gradients": ("gradients", "#55A868"),
    "optimizer_state": ("optimizer state", "#C44E52"),
    "activations": ("activations and temporaries", "#CCB974"),
}


def _kib(n: float) -> float:
    return n / 1024


def plot_memory_per_device(
    runs: Mapping[str, Mapping], *, title: str = "Memory per device, measured"
) -> Figure:
    """Stacked bars of bytes per device by category, one bar per run; the model's prediction of
    parameters + gradients + optimizer state as a black tick on each bar.

    Args:
        runs: label -> a summary with ``memory_per_device`` (and ``memory_model_per_device``).
        title: the title.
    """
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.add_subplot()
    labels = list(runs)
    bottoms = np.zeros(len(labels))
    for key, (name, color) in _CATEGORIES.items():
        heights = np.array([_kib(runs[k]["memory_per_device"].get(key, 0)) for k in labels])
        ax.bar(labels, heights, bottom=bottoms, color=color, label=name)
        bottoms += heights
    legend = "model state predicted (ZeRO accounting)"
    for i, label in enumerate(labels):
        model = runs[label].get("memory_model_per_device", {}).get("model_state")
        if model is not None:
            ax.plot([i - 0.4, i + 0.4], [_kib(model)] * 2, color="black", linewidth=2, label=legend)
            legend = None
    ax.set_ylabel("KiB on one device")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.tick_params(axis="x", labelrotation=20)
    ax.legend(fontsize=8)
    return fig


def plot_pipeline_ticks(ticks: np.ndarray, *, title: str | None = None) -> Figure:
    """The pipeline schedule the engine runs: one row per stage, one box per tick.

    Args:
        ticks: ``gpipe_ticks(stages, microbatches)``: microbatch per (stage, tick), -1 idle;
            the first half of the ticks is the forward pass, the second the backward pass.
        title: the title (default: sizes and the idle share).
    """
    stages, total = ticks.shape
    half = total // 2
    fig = Figure(figsize=(min(1.2 + 0.42 * total, 14), 0.9 + 0.5 * stages), layout="constrained")
    ax = fig.add_subplot()
    colors = {"F": "#4C72B0", "B": "#55A868", "idle": "#DDDDDD"}
    for s in range(stages):
        for t in range(total):
            mb = int(ticks[s, t])
            kind = "idle" if mb < 0 else ("F" if t < half else "B")
            ax.broken_barh([(t, 1)], (s - 0.4, 0.8), facecolors=colors[kind], edgecolor="white")
            if mb >= 0:
                ax.text(t + 0.5, s, str(mb), ha="center", va="center", color="white", fontsize=8)
    ax.axvline(half, color="black", linewidth=1)
    ax.set_yticks(range(stages), [f"stage {s}" for s in range(stages)])
    ax.set_ylim(stages - 0.5, -0.5)
    ax.set_xlim(0, total)
    ax.set_xlabel("tick (forward ticks | backward ticks, autodiff runs them in reverse)")
    microbatches = int(ticks.max()) + 1
    ax.set_title(title or (
        f"GPipe in the engine: {stages} stages, {microbatches} microbatches - idle "
        f"{100 * np.mean(ticks < 0):.0f}% of the stage-ticks"
    ))  # fmt: skip
    handles = [Patch(color=c, label=k if k != "F" else "forward") for k, c in colors.items()]
    handles[1] = Patch(color=colors["B"], label="backward")
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
    return fig


def plot_bubble(
    stages: int,
    microbatches: Sequence[int],
    measured: Mapping[int, float] | None = None,
    *,
    formula: Sequence[float] | None = None,
) -> Figure:
    """Bubble fraction against microbatches: GPipe's ``(S-1)/(M+S-1)`` and measured points.

    Args:
        stages: S.
        microbatches: the M values of the curve.
        measured: M -> bubble fraction measured from step times (``measure_bubble``).
        formula: the curve's values if already computed (default ``(S-1)/(M+S-1)``).
    """
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ms = np.asarray(list(microbatches), dtype=float)
    curve = np.asarray(formula) if formula is not None else (stages - 1) / (ms + stages - 1)
    ax.plot(ms, curve, marker="o", label=f"formula (S-1)/(M+S-1), S={stages}")
    if measured:
        keys = sorted(measured)
        ax.plot(keys, [measured[k] for k in keys], marker="D", linestyle="--", color="black",
                label="measured from step times (fixed costs included)")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlabel("microbatches M")
    ax.set_ylabel("bubble: idle share of the step")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_memory_vs_bytes(runs: Mapping[str, Mapping]) -> Figure:
    """The trade-off: model state each device keeps (x) against bytes it sends per step (y).

    Args:
        runs: label -> a summary with ``memory_per_device`` and ``collectives`` (each row's
            ``ring_bytes_sent_per_device``).
    """
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    xs, ys = [], []
    for label, r in runs.items():
        mem = r["memory_per_device"]
        xs.append(_kib(mem["parameters"] + mem["gradients"] + mem["optimizer_state"]))
        ys.append(_kib(sum(c["ring_bytes_sent_per_device"] for c in r["collectives"])))
        ax.scatter(xs[-1], ys[-1], s=60, zorder=3)
        ax.annotate(label, (xs[-1], ys[-1]), textcoords="offset points", xytext=(6, 4),
                    fontsize=8)  # fmt: skip
    ax.set_xlabel("model state per device (KiB): parameters + gradients + optimizer")
    ax.set_ylabel("bytes each device sends per step (KiB, ring)")
    ax.set_title("Memory saved against bytes sent")
    ax.set_xlim(0, 1.25 * max(xs, default=1))
    ax.set_ylim(0, 1.2 * max(ys, default=1) or 1)
    ax.grid(alpha=0.3)
    return fig
