"""A dashboard for the synchronisation trade-off: simulate policies, train for real, compare.

Pick the cluster (workers, how often a step straggles and by how much) and the SSP bound, press
**Run**: each policy's schedule is simulated and replayed as real JAX training, and the loss
against simulated seconds (and against gradients applied) is redrawn as each policy finishes.
Below, a table of iterations per second (hardware efficiency), gradients to the target and time
to the target (statistical and overall efficiency). Works in JupyterLab and as a Voila page.
"""

from __future__ import annotations

import html

import ipywidgets as w

from simlib.engine.stale import ReplayConfig
from simlib.engine.tradeoff import train_policies
from simlib.errors import SimlibError
from simlib.sim import ClusterSpec, PolicySpec, StragglerSpec
from simlib.viz import figure_png
from simlib.viz.convergence import plot_loss_vs_time

__all__ = ["PolicyExplorer", "outcome_table", "policy_explorer"]


def outcome_table(runs, target_loss: float) -> str:
    """An HTML table: one row per policy, the three efficiencies side by side."""
    cell = lambda v, fmt: "never" if v is None else format(v, fmt)
    td = '<td style="padding: 2px 12px">'
    rows = "".join(
        f"<tr>{td}{html.escape(r.label)}</td>{td}{r.iterations_per_second:.2f}</td>"
        f"{td}{r.report.final_loss:.3f}</td>{td}{cell(r.updates_to_target(target_loss), 'd')}</td>"
        f"{td}{cell(r.time_to_target(target_loss), '.1f')}</td></tr>"
        for r in runs
    )
    head = (
        "<tr><th>policy</th><th>gradients / s</th><th>final loss</th>"
        f"<th>gradients to loss {target_loss:g}</th><th>seconds to loss {target_loss:g}</th></tr>"
    )
    return f"<table>{head}{rows}</table>"


class PolicyExplorer:
    """The dashboard; ``.widget`` to display, ``.run()`` to simulate and train again."""

    def __init__(self, steps: int = 40, target_loss: float = 0.5):
        self.steps, self.target = steps, target_loss
        style = {"description_width": "11em"}
        self.workers = w.SelectionSlider(options=[2, 4, 8, 16], value=8, description="workers",
                                         style=style)  # fmt: skip
        self.probability = w.FloatSlider(value=0.2, min=0.0, max=0.6, step=0.05, style=style,
                                         description="straggler probability")  # fmt: skip
        self.slowdown = w.FloatSlider(value=4.0, min=1.0, max=10.0, step=0.5, style=style,
                                      description="straggler slowdown")  # fmt: skip
        self.bound = w.IntSlider(value=2, min=0, max=8, description="SSP staleness bound",
                                 style=style)  # fmt: skip
        tip = "simulate each policy, then train with its schedule"
        self.button = w.Button(description="Run", button_style="primary", icon="play", tooltip=tip)
        self.button.on_click(lambda _: self.run())
        self.status, self.table = w.HTML(), w.HTML()
        self.image = w.Image(format="png", layout=w.Layout(max_width="900px"))
        controls = w.VBox([self.workers, self.probability, self.slowdown, self.bound, self.button])
        self.widget = w.VBox([controls, self.status, self.image, self.table])
        self.runs: list = []

    def policies(self) -> list[PolicySpec]:
        return [PolicySpec("bsp"), PolicySpec("asp"), PolicySpec("ssp", staleness=self.bound.value)]

    def run(self) -> None:
        """Simulate and train each policy, redrawing after each one ("live")."""
        try:
            stragglers = StragglerSpec(probability=self.probability.value,
                                       slowdown=self.slowdown.value)  # fmt: skip
            cluster = ClusterSpec(workers=self.workers.value, stragglers=stragglers)
        except SimlibError as err:
            self.status.value = f"<p><b>Cannot simulate:</b> {html.escape(str(err))}</p>"
            return
        config = ReplayConfig(hidden=(64,), batch_per_worker=16, learning_rate=0.1)
        self.runs = []
        for policy in self.policies():
            self.status.value = f"<i>Simulating and training {html.escape(policy.label())}...</i>"
            try:
                self.runs += train_policies(cluster, [policy], steps=self.steps, config=config)
            except SimlibError as err:
                self.status.value = f"<p><b>Cannot train:</b> {html.escape(str(err))}</p>"
                return
            self.image.value = figure_png(plot_loss_vs_time(self.runs, target_loss=self.target))
            self.table.value = outcome_table(self.runs, self.target)
        self.status.value = (
            f"<p>{self.workers.value} workers, {self.steps} steps each; the same seed gives "
            "every policy the same stragglers. Left: who gets there first in wall-clock time. "
            "Right: how much each gradient helps.</p>"
        )


def policy_explorer(steps: int = 40, target_loss: float = 0.5) -> w.Widget:
    """Build the dashboard, run it once, and return the widget to display."""
    explorer = PolicyExplorer(steps, target_loss)
    explorer.run()
    explorer.widget.explorer = explorer
    return explorer.widget
