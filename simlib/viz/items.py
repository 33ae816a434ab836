"""The item-analysis figure of a graded class: difficulty against discrimination."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

__all__ = ["plot_item_analysis"]

WEAK_DISCRIMINATION = 0.2  # a common rule of thumb for r_pb (Ebel & Frisbie, 1991)


def plot_item_analysis(items: Sequence, *, title: str = "") -> Figure:
    """One labelled point per item: difficulty (mean fraction of points) and point-biserial r.

    ``items`` are :class:`simlib.quiz.analysis.ItemStats`. Items whose r is undefined (every
    student scored the same) are drawn hollow on the zero line and named in the legend. Points
    below the dashed line (r < 0.2) tell strong and weak students apart poorly: reread them.
    """
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    defined = [s for s in items if s.difficulty is not None and s.discrimination is not None]
    flat = [s for s in items if s.difficulty is not None and s.discrimination is None]
    ax.axhspan(-1.05, WEAK_DISCRIMINATION, color="0.93", zorder=0)
    ax.axhline(WEAK_DISCRIMINATION, color="0.4", linestyle="--", linewidth=1,
               label=f"r = {WEAK_DISCRIMINATION}: below it, weak discrimination")  # fmt: skip
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.plot([s.difficulty for s in defined], [s.discrimination for s in defined], "o",
            color="tab:blue", label="item")  # fmt: skip
    if flat:
        ax.plot([s.difficulty for s in flat], [0.0] * len(flat), "o", markerfacecolor="none",
                color="tab:red", label="item with r undefined (no spread in scores)")  # fmt: skip
    spots: dict[tuple[float, float, bool], list[str]] = {}
    for s in [*defined, *flat]:
        y = s.discrimination if s.discrimination is not None else 0.0
        key = (round(s.difficulty, 3), round(y, 3), s.discrimination is None)
        spots.setdefault(key, []).append(s.item)
    for (x, y, undefined), names in spots.items():  # one label per spot, a name per line
        ax.annotate("\n".join(names), (x, y), textcoords="offset points",
                    xytext=(4, -6 if undefined else 4), va="top" if undefined else "bottom",
                    fontsize=7)  # fmt: skip
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("difficulty p: mean score as a fraction of the item's points (1 = all right)")
    ax.set_ylabel("discrimination: point-biserial r\n(item score vs rest of the test)")
    ax.set_title(title or f"Item analysis: {len(items)} items")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(True, alpha=0.3)
    return fig
