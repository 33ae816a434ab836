"""A dashboard for synchronisation: BSP vs SSP(s) vs ASP on one cluster with stragglers.

Move a slider and the three policies are simulated again on the same cluster and the same
seed (so they face the same slow steps): a table of throughput, blocked time and staleness,
where the workers' time goes, the staleness histogram, and the timeline of one policy.
"""

from __future__ import annotations

import html

import ipywidgets as w

from simlib.errors import SimlibError
from simlib.sim import ClusterSpec, NetworkSpec, PolicySpec, StragglerSpec
from simlib.sim.sweeps import compare_policies, policy_summary
from simlib.viz import figure_png, plot_staleness, plot_time_breakdown, plot_timeline

__all__ = ["SyncDashboard", "summary_html", "sync_dashboard"]


def summary_html(rows: list[dict]) -> str:
    """The rows of :func:`simlib.sim.policy_summary` as an HTML table."""
    head = (
        "<tr><th>policy</th><th>time (s)</th><th>updates/s</th><th>blocked</th>"
        "<th>mean staleness</th><th>max staleness</th></tr>"
    )
    body = "".join(
        f"<tr><td>{html.escape(r['policy'])}</td><td>{r['makespan_seconds']:.2f}</td>"
        f"<td>{r['throughput_updates_per_s']:.1f}</td><td>{100 * r['blocked_share']:.0f}%</td>"
        f"<td>{r['mean_staleness']:.1f}</td><td>{r['max_staleness']}</td></tr>"
        for r in rows
    )
    return f"<table>{head}{body}</table>"


class SyncDashboard:
    """The dashboard; ``.widget`` is what to display, ``.run()`` simulates the current values."""

    def __init__(self, workers: int = 16, steps: int = 30):
        slider = dict(continuous_update=False, style={"description_width": "150px"})
        self.workers = w.IntSlider(
            value=workers, min=2, max=64, step=2, description="workers", **slider
        )
        self.probability = w.FloatSlider(
            value=0.05, min=0, max=0.5, step=0.05, description="straggler probability", **slider
        )
        self.slowdown = w.FloatSlider(
            value=4, min=1, max=10, step=0.5, description="straggler slowdown", **slider
        )
        self.staleness = w.IntSlider(value=2, min=0, max=8, description="SSP staleness s", **slider)
        self.model_mb = w.FloatSlider(
            value=10, min=0, max=100, step=5, description="model size (MB)", **slider
        )
        self.steps = steps
        self.show = w.ToggleButtons(
            options=["BSP", "SSP", "ASP"], value="SSP", description="timeline of"
        )
        self.table, self.status = w.HTML(), w.HTML()
        self.images = {
            name: w.Image(format="png", layout=w.Layout(max_width="760px"))
            for name in ("timeline", "breakdown", "staleness")
        }
        for control in (
            self.workers,
            self.probability,
            self.slowdown,
            self.staleness,
            self.model_mb,
            self.show,
        ):
            control.observe(lambda _change: self.run(), names="value")
        controls = w.VBox(
            [self.workers, self.probability, self.slowdown, self.staleness, self.model_mb]
        )
        pictures = [
            self.show,
            self.images["timeline"],
            self.images["breakdown"],
            self.images["staleness"],
        ]
        self.widget = w.VBox([controls, self.status, self.table, *pictures])
        self.traces: dict = {}

    def cluster(self) -> ClusterSpec:
        """The cluster the sliders describe (10 Gb/s NICs, 2 server shards, 0.1 s steps)."""
        return ClusterSpec(
            workers=self.workers.value,
            step_seconds=0.1,
            servers=2,
            stragglers=StragglerSpec("lognormal", 0.1, self.probability.value, self.slowdown.value),
            model_bytes=self.model_mb.value * 1e6,
            network=NetworkSpec(1.25e9, latency_s=50e-6),
        )

    def run(self) -> None:
        """Simulate BSP, SSP(s) and ASP with the current values and redraw."""
        policies = [
            PolicySpec("bsp"),
            PolicySpec("ssp", staleness=self.staleness.value),
            PolicySpec("asp"),
        ]
        try:
            self.traces = compare_policies(self.cluster(), policies, steps=self.steps)
        except SimlibError as err:
            self.status.value = f"<p><b>Cannot simulate:</b> {html.escape(str(err))}</p>"
            return
        self.status.value = ""
        self.table.value = summary_html(policy_summary(self.traces))
        shown = next(t for label, t in self.traces.items() if label.startswith(self.show.value))
        self.images["timeline"].value = figure_png(plot_timeline(shown, max_workers=16))
        self.images["breakdown"].value = figure_png(plot_time_breakdown(self.traces))
        self.images["staleness"].value = figure_png(plot_staleness(self.traces))


def sync_dashboard(workers: int = 16, steps: int = 30) -> w.Widget:
    """Build the dashboard, simulate once with its defaults, and return the widget to display."""
    dashboard = SyncDashboard(workers, steps)
    dashboard.run()
    dashboard.widget.dashboard = dashboard  # reachable for tests and curious learners
    return dashboard.widget
