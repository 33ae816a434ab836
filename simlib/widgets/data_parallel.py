"""A dashboard to train data-parallel for real: pick the style, devices and batch, press Train.

It trains the chosen style and the single-device reference on the same batches, overlays their
loss curves, and says what the compiled program sent: the all-reduce's bytes and, under the ring
algorithm, the ``2 (p-1)/p`` of them each device sends.
"""

from __future__ import annotations

import html

import ipywidgets as w

from simlib.engine import (
    DPConfig,
    collectives,
    request_devices,
    train_data_parallel,
    tree_max_abs_diff,
)
from simlib.errors import SimlibError
from simlib.viz import figure_png, plot_losses

__all__ = ["DataParallelExplorer", "data_parallel_explorer", "describe_run"]


def describe_run(report, reference) -> str:
    """An HTML paragraph on one run: agreement with one device, the collectives, the time."""
    cfg = report.config
    diff = tree_max_abs_diff(report.params, reference.params)
    parts = [
        f"<b>{html.escape(cfg.style)}</b> on {cfg.devices} device(s), global batch "
        f"{cfg.batch_size} ({cfg.batch_size // cfg.devices} per device): final loss "
        f"{report.final_loss:.4f} vs {reference.final_loss:.4f} on one device; parameters differ "
        f"by at most {diff:.1e}.",
    ]
    found = collectives(report.hlo_text)
    if not found:
        parts.append("The compiled program contains no collective: one device sends nothing.")
    for c in found:
        parts.append(
            f"The compiled step runs an <b>{c.kind}</b> of {c.operand_bytes:,} bytes over "
            f"{c.group_size} devices, {c.count} time(s) per step (the parameters are "
            f"{report.param_bytes:,} bytes, plus 4 for the loss). With a ring each device sends "
            f"2({c.group_size}-1)/{c.group_size} of that: "
            f"{c.ring_bytes_sent_per_device:,.0f} bytes."
        )
    parts.append(
        f"Median step {report.median_step_seconds * 1e3:.2f} ms "
        f"(one device: {reference.median_step_seconds * 1e3:.2f} ms); "
        f"compiled once in {report.compile_seconds:.2f} s."
    )
    return "<p>" + "<br>".join(parts) + "</p>"


class DataParallelExplorer:
    """The dashboard; ``.widget`` is what to display, ``.run()`` trains with the current values."""

    def __init__(self, max_devices: int = 8, steps: int = 20):
        available = len(request_devices(max_devices))
        counts = [n for n in (1, 2, 4, 8, 16) if n <= available]
        self.style = w.ToggleButtons(options=["pmap", "jit", "shard_map"], value="jit",
                                     description="style")  # fmt: skip
        self.devices = w.Dropdown(options=counts, value=counts[-1], description="devices")
        self.batch = w.Dropdown(options=[32, 64, 96, 128, 256, 512], value=128,
                                description="batch")  # fmt: skip
        self.steps = w.IntSlider(value=steps, min=5, max=60, step=5, description="steps")
        self.button = w.Button(description="Train", button_style="primary", icon="play",
                               tooltip="train this style and one device, then compare")  # fmt: skip
        self.status = w.HTML()
        self.image = w.Image(format="png", layout=w.Layout(max_width="720px"))
        self.button.on_click(lambda _: self.run())
        controls = w.VBox([self.style, w.HBox([self.devices, self.batch]), self.steps, self.button])
        self.widget = w.VBox([controls, self.status, self.image])
        self.reports: tuple = ()

    def run(self) -> None:
        """Train the chosen style and the single-device reference, then redraw."""
        self.status.value = "<i>Training...</i>"
        common = {"steps": self.steps.value, "batch_size": self.batch.value}
        try:
            cfg = DPConfig(style=self.style.value, devices=self.devices.value, **common)
            report = train_data_parallel(cfg)
            reference = train_data_parallel(DPConfig(style="single", devices=1, **common))
        except SimlibError as err:
            self.status.value = f"<p><b>Cannot train:</b> {html.escape(str(err))}</p>"
            return
        self.reports = (report, reference)
        self.image.value = figure_png(plot_losses([reference, report]))
        self.status.value = describe_run(report, reference)


def data_parallel_explorer(max_devices: int = 8, steps: int = 20) -> w.Widget:
    """Build the dashboard, train once with its defaults, and return the widget to display."""
    explorer = DataParallelExplorer(max_devices, steps)
    explorer.run()
    explorer.widget.explorer = explorer  # reachable for tests and curious learners
    return explorer.widget
