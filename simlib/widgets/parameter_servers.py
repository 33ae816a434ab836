"""A dashboard for parameter servers: one server vs k shards vs ring all-reduce as N grows.

Every point is a BSP simulation of identical workers, so each step takes exactly compute plus
the communication formula; the text under the figure gives those formulas' numbers at the
largest cluster and says which NIC is the bottleneck.
"""

from __future__ import annotations

import html

import ipywidgets as w

from simlib.errors import SimlibError
from simlib.sim import allreduce_cost, ps_cost
from simlib.sim.sweeps import compare_architectures
from simlib.viz import figure_png, plot_speedup

__all__ = ["ParameterServerDashboard", "bottleneck_html", "parameter_server_dashboard"]

_GBIT = 1e9 / 8  # bytes per second in one Gb/s


def bottleneck_html(
    workers: int,
    servers: int,
    model_bytes: float,
    worker_bw: float,
    server_bw: float,
    step_seconds: float,
) -> str:
    """What the closed forms say about one step of ``workers`` workers, as HTML."""
    lines = []
    for k in sorted({1, servers}):
        cost = ps_cost(workers, k, model_bytes, worker_bw, server_bw, pull=True)
        lines.append(
            f"{k} server(s): push + pull take {cost.seconds:.3f} s per step; each server moves "
            f"{cost.bytes_per_server / 1e9:.2f} GB; the <b>{cost.bottleneck}</b> NICs are the "
            f"bottleneck (worker {model_bytes / worker_bw:.3f} s vs server "
            f"{workers * model_bytes / (k * server_bw):.3f} s per direction)."
        )
    ring = allreduce_cost("ring", workers, model_bytes, worker_bw)
    lines.append(
        f"ring all-reduce: {ring.seconds:.3f} s per step, each worker sends "
        f"{ring.bytes_sent_per_rank / 1e9:.2f} GB whatever N is. Compute: {step_seconds:.2f} s."
    )
    return f"<p>At {workers} workers:<br>" + "<br>".join(lines) + "</p>"


class ParameterServerDashboard:
    """The dashboard; ``.widget`` is what to display, ``.run()`` simulates the current values."""

    def __init__(self):
        slider = dict(continuous_update=False, style={"description_width": "150px"})
        self.max_workers = w.Dropdown(
            options=[16, 32, 64, 128], value=64, description="up to workers"
        )
        self.servers = w.IntSlider(value=4, min=1, max=16, description="server shards k", **slider)
        self.model_mb = w.FloatLogSlider(
            value=100, base=10, min=0, max=3, step=0.1, description="model size (MB)", **slider
        )
        self.worker_gbit = w.Dropdown(options=[10, 25, 100], value=10, description="worker Gb/s")
        self.server_gbit = w.Dropdown(options=[10, 25, 100], value=10, description="server Gb/s")
        self.compute = w.FloatSlider(
            value=0.5, min=0.05, max=2.0, step=0.05, description="compute per step (s)", **slider
        )
        self.text, self.image = w.HTML(), w.Image(format="png", layout=w.Layout(max_width="720px"))
        controls = [
            self.max_workers,
            self.servers,
            self.model_mb,
            self.worker_gbit,
            self.server_gbit,
            self.compute,
        ]
        for control in controls:
            control.observe(lambda _change: self.run(), names="value")
        self.widget = w.VBox([w.VBox(controls), self.image, self.text])
        self.curves: dict = {}

    def run(self) -> None:
        """Simulate the three architectures for 1, 2, 4, ... workers and redraw."""
        sizes = [n for n in (1, 2, 4, 8, 16, 32, 64, 128) if n <= self.max_workers.value]
        args = dict(
            model_bytes=self.model_mb.value * 1e6,
            worker_bandwidth_bytes_per_s=self.worker_gbit.value * _GBIT,
            server_bandwidth_bytes_per_s=self.server_gbit.value * _GBIT,
            step_seconds=self.compute.value,
        )
        try:
            self.curves = compare_architectures(sizes, servers=self.servers.value, steps=3, **args)
        except SimlibError as err:
            self.text.value = f"<p><b>Cannot simulate:</b> {html.escape(str(err))}</p>"
            return
        self.image.value = figure_png(
            plot_speedup(
                self.curves, metric="throughput", title="BSP throughput: where the bottleneck moves"
            )
        )
        self.text.value = bottleneck_html(
            sizes[-1],
            self.servers.value,
            args["model_bytes"],
            args["worker_bandwidth_bytes_per_s"],
            args["server_bandwidth_bytes_per_s"],
            args["step_seconds"],
        )


def parameter_server_dashboard() -> w.Widget:
    """Build the dashboard, simulate once with its defaults, and return the widget to display."""
    dashboard = ParameterServerDashboard()
    dashboard.run()
    dashboard.widget.dashboard = dashboard
    return dashboard.widget
