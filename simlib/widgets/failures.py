"""A dashboard for checkpointing at scale: how many nodes, how reliable, how costly a checkpoint.

It shows the job's MTBF, Young's and Daly's intervals, the simulated mean makespan against the
checkpoint interval next to Daly's expectation, and one run's timeline at Daly's interval.
"""

from __future__ import annotations

import html

import ipywidgets as w
import numpy as np

from simlib.errors import SimlibError
from simlib.sim.failures import (
    MAX_EXPECTED_CRASHES,
    FailureSpec,
    JobSpec,
    checkpoint_interval_sweep,
    daly_interval_s,
    expected_crashes,
    simulate_failures,
    young_interval_s,
)
from simlib.viz import figure_png
from simlib.viz.failures import plot_checkpoint_intervals, plot_failure_timeline

__all__ = ["CheckpointExplorer", "checkpoint_explorer"]

_YEAR_S = 365.0 * 24 * 3600


class CheckpointExplorer:
    """The dashboard; ``.widget`` to display, ``.run()`` to recompute with the current values."""

    def __init__(self, steps: int = 5000, step_seconds: float = 36.0, runs: int = 60):
        self.steps, self.step_seconds, self.runs = steps, step_seconds, runs
        self.nodes = w.SelectionSlider(options=[16, 64, 256, 1024, 4096], value=1024,
                                       description="nodes")  # fmt: skip
        self.mtbf_years = w.FloatLogSlider(value=2.0, base=10, min=-1, max=1.3, step=0.1,
                                           description="node MTBF (years)")  # fmt: skip
        self.checkpoint_s = w.FloatSlider(value=60.0, min=5.0, max=600.0, step=5.0,
                                          description="checkpoint (s)")  # fmt: skip
        self.restart_s = w.FloatSlider(value=120.0, min=0.0, max=1200.0, step=30.0,
                                       description="restart (s)")  # fmt: skip
        self.button = w.Button(description="Simulate", button_style="primary", icon="play")
        self.button.on_click(lambda _: self.run())
        self.status = w.HTML()
        self.curve, self.timeline = w.Image(format="png"), w.Image(format="png")
        for image in (self.curve, self.timeline):
            image.layout = w.Layout(max_width="760px")
        controls = w.VBox([self.nodes, self.mtbf_years, self.checkpoint_s, self.restart_s,
                           self.button])  # fmt: skip
        self.widget = w.VBox([controls, self.status, self.curve, self.timeline])

    def failures(self) -> FailureSpec:
        return FailureSpec(self.nodes.value, self.mtbf_years.value * _YEAR_S,
                           self.checkpoint_s.value, self.restart_s.value)  # fmt: skip

    def run(self) -> None:
        """Sweep the interval, draw it, and draw one run at Daly's interval."""
        try:
            failures = self.failures()
        except SimlibError as err:
            self.status.value = f"<p><b>Cannot simulate:</b> {html.escape(str(err))}</p>"
            return
        m, c = failures.job_mtbf_s, failures.checkpoint_s
        young, daly = young_interval_s(c, m), daly_interval_s(c, m)
        best = max(1, round(daly / self.step_seconds))
        grid = sorted({int(k) for k in np.geomspace(1, self.steps, 9).round()} | {best})
        feasible = lambda k: expected_crashes(JobSpec(self.steps, self.step_seconds, k),
                                              failures) <= MAX_EXPECTED_CRASHES  # fmt: skip
        grid = [k for k in grid if feasible(k)]  # hopelessly long segments: not simulated
        points = checkpoint_interval_sweep(self.steps, self.step_seconds, failures, grid,
                                           runs=self.runs)  # fmt: skip
        trace = simulate_failures(JobSpec(self.steps, self.step_seconds, best), failures, seed=1)
        work = self.steps * self.step_seconds
        hours = lambda seconds: f"{seconds / 3600:.2f} h"
        self.status.value = (
            f"<p>Job MTBF = node MTBF / nodes = {hours(m)}. Young's interval sqrt(2 C M) = "
            f"{young:.0f} s, Daly's {daly:.0f} s (checkpoint every {best} steps of "
            f"{self.step_seconds:g} s). At that interval one run took {hours(trace.makespan_s)} "
            f"for {hours(work)} of work: {hours(trace.seconds('lost'))} lost, "
            f"{hours(trace.seconds('checkpoint'))} writing checkpoints, "
            f"{hours(trace.seconds('restart'))} restarting, {len(trace.failures)} crash(es).</p>"
        )
        self.curve.value = figure_png(plot_checkpoint_intervals(points, young_s=young, daly_s=daly))
        self.timeline.value = figure_png(plot_failure_timeline(trace))


def checkpoint_explorer(steps: int = 5000, step_seconds: float = 36.0, runs: int = 60) -> w.Widget:
    """Build the dashboard, compute once, and return the widget to display."""
    explorer = CheckpointExplorer(steps, step_seconds, runs)
    explorer.run()
    explorer.widget.explorer = explorer
    return explorer.widget
