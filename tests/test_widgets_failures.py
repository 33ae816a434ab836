"""The checkpoint dashboard computes what it says."""

from __future__ import annotations

from simlib.sim.failures import daly_interval_s, young_interval_s
from simlib.widgets import checkpoint_explorer


def test_checkpoint_explorer_reports_the_intervals_and_redraws():
    widget = checkpoint_explorer(steps=300, step_seconds=36.0, runs=5)
    explorer = widget.explorer
    m = explorer.failures().job_mtbf_s
    text = explorer.status.value
    assert f"Young's interval sqrt(2 C M) = {young_interval_s(60.0, m):.0f} s" in text
    assert f"Daly's {daly_interval_s(60.0, m):.0f} s" in text
    assert explorer.curve.value[:4] == b"\x89PNG" and explorer.timeline.value[:4] == b"\x89PNG"
    explorer.nodes.value = 4096
    explorer.button.click()
    assert f"{explorer.failures().job_mtbf_s / 3600:.2f} h" in explorer.status.value
    assert explorer.failures().nodes == 4096
