"""The simulator dashboards build, react to their controls, and report the closed forms."""

from __future__ import annotations

import pytest

from simlib.sim import closed_form_step_seconds, compare_architectures
from simlib.widgets import bottleneck_html, parameter_server_dashboard, sync_dashboard

PNG = b"\x89PNG"


def test_sync_dashboard_reacts_to_the_staleness_slider():
    widget = sync_dashboard(workers=8, steps=10)
    dash = widget.dashboard
    assert "SSP(s=2)" in dash.table.value and "<td>BSP</td>" in dash.table.value
    dash.staleness.value = 5  # the observer re-simulates
    assert "SSP(s=5)" in dash.table.value and "SSP(s=5)" in dash.traces
    assert all(bytes(image.value).startswith(PNG) for image in dash.images.values())
    bsp = dash.traces["BSP"]
    assert (bsp.updates["version_applied"] == bsp.updates["version_read"]).all()
    dash.show.value = "ASP"
    assert bytes(dash.images["timeline"].value).startswith(PNG)


def test_parameter_server_dashboard_draws_three_architectures():
    widget = parameter_server_dashboard()
    dash = widget.dashboard
    assert list(dash.curves) == ["1 parameter server", "4 server shards", "ring all-reduce"]
    dash.servers.value = 1
    assert list(dash.curves) == ["1 parameter server", "ring all-reduce"]
    assert bytes(dash.image.value).startswith(PNG) and "At 64 workers" in dash.text.value


def test_bottleneck_text_by_hand():
    # 8 workers, 1 GB model, 10 GB/s everywhere: one direction is max(0.1 s, 8 / k x 0.1 s).
    text = bottleneck_html(8, 2, 1e9, 1e10, 1e10, 0.1)
    assert "1 server(s): push + pull take 1.600 s" in text
    assert "2 server(s): push + pull take 0.800 s" in text and "<b>server</b>" in text
    assert "ring all-reduce: 0.175 s per step" in text  # 2 x 7/8 x 0.1 s


def test_architecture_sweep_steps_are_the_closed_forms():
    args = dict(model_bytes=50e6, worker_bandwidth_bytes_per_s=1.25e9, step_seconds=0.2)
    curves = compare_architectures([1, 4, 16], servers=4, steps=3, **args)
    for label, arch, k in (
        ("1 parameter server", "ps", 1),
        ("4 server shards", "ps", 4),
        ("ring all-reduce", "allreduce", 1),
    ):
        for point in curves[label]:
            expected = closed_form_step_seconds(arch, point.workers, servers=k, **args)
            assert point.makespan_seconds / 3 == pytest.approx(expected, rel=1e-9)
    # by hand at 16 workers, one server: 0.2 + 2 x 16 x 50 MB / 1.25 GB/s = 1.48 s
    assert closed_form_step_seconds("ps", 16, **args) == pytest.approx(1.48)
