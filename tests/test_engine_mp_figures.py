"""Model-parallel figures and the mesh-shape dashboard draw what the engine measured."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from simlib.engine import gpipe_ticks, pp_summary, request_devices, tp_summary, zero_summary
from simlib.viz import (
    plot_bubble,
    plot_memory_per_device,
    plot_memory_vs_bytes,
    plot_pipeline_ticks,
)
from simlib.widgets import MeshExplorer, mesh_shapes


@pytest.fixture(scope="module")
def runs():
    request_devices(8)
    return {
        "DP": zero_summary(stage=0, steps=2),
        "ZeRO-3": zero_summary(stage=3, steps=2, step_style="shard_map"),
        "TP 2x4": tp_summary(data=2, model=4, steps=2),
        "PP 4x2": pp_summary(stages=4, data=2, steps=2, measure=False),
    }


def test_memory_bars_stack_the_measured_categories(runs):
    fig = plot_memory_per_device(runs)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 4 * len(runs)  # four categories per run
    params = heights[: len(runs)]  # the first category drawn is the parameters
    expected = [r["memory_per_device"]["parameters"] / 1024 for r in runs.values()]
    np.testing.assert_allclose(params, expected)
    assert len(ax.lines) == len(runs)  # the model's prediction on every bar


def test_pipeline_ticks_draw_one_box_per_stage_tick():
    ticks = gpipe_ticks(4, 4)
    fig = plot_pipeline_ticks(ticks)
    ax = fig.axes[0]
    assert len(ax.collections) == ticks.size
    assert len(ax.texts) == int(np.sum(ticks >= 0)) == 2 * 4 * 4
    assert "idle 43%" in ax.get_title()


def test_trade_off_places_each_run_at_its_memory_and_bytes(runs):
    fig = plot_memory_vs_bytes(runs)
    ax = fig.axes[0]
    points = [tuple(c.get_offsets()[0]) for c in ax.collections]
    dp, zero3 = points[0], points[1]
    assert zero3[0] < dp[0] / 4  # ZeRO-3 keeps far less
    assert zero3[1] == pytest.approx(dp[1], rel=0.01)  # and sends what DP sends (written out)


def test_bubble_curve_is_the_formula():
    fig = plot_bubble(4, [1, 2, 4, 8], {2: 0.7})
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), [3 / 4, 3 / 5, 3 / 7, 3 / 11])


def test_mesh_shapes():
    assert mesh_shapes(8) == [(8, 1), (4, 2), (2, 4), (1, 8)]
    assert mesh_shapes(8, 4) == [(8, 1), (4, 2), (2, 4)]


def test_mesh_explorer_trains_the_chosen_split():
    explorer = MeshExplorer(devices=8, steps=2)
    explorer.kind.value = "pipeline"
    assert explorer.shape.value == (2, 4) and not explorer.microbatches.disabled
    explorer.shape.value = (4, 2)
    explorer.run()
    assert "pp</b> on a 4 data x 2 stage mesh" in explorer.status.value
    assert "(equal)" in explorer.status.value and "DIFFERENT" not in explorer.status.value
    assert explorer.image.value[:4] == b"\x89PNG"
