"""A dashboard for the mesh shape: split 8 devices between data and model (or pipeline stages).

Pick tensor or pipeline parallelism and a mesh shape ``data x model`` (``data x stages``), press
Train: it trains that split and the single-device reference on the same batches and shows what
each device keeps (measured memory, next to plain data parallelism on the same devices) and what
it sends (the compiled collectives next to the analytic count).
"""

from __future__ import annotations

import html

import ipywidgets as w

from simlib.engine import pp_summary, request_devices, tp_summary
from simlib.errors import SimlibError
from simlib.viz import figure_png, plot_memory_per_device

__all__ = ["MeshExplorer", "describe_split", "mesh_explorer", "mesh_shapes"]


def mesh_shapes(devices: int, inner_max: int | None = None) -> list[tuple[int, int]]:
    """Every ``(data, inner)`` with ``data * inner == devices`` (inner at most ``inner_max``).

    Example:
        >>> mesh_shapes(8)
        [(8, 1), (4, 2), (2, 4), (1, 8)]
    """
    inner_max = inner_max or devices
    return [(devices // m, m) for m in range(1, devices + 1) if devices % m == 0 and m <= inner_max]


def describe_split(result: dict, baseline: dict) -> str:
    """An HTML paragraph on one run next to plain data parallelism on the same devices."""
    mesh = " x ".join(f"{v} {k}" for k, v in result["mesh"].items())
    mem, base = result["memory_per_device"], baseline["memory_per_device"]
    lines = [
        f"<b>{html.escape(result['style'])}</b> on a {mesh} mesh: final loss "
        f"{result['final_loss']:.4f}; parameters differ from one device's by at most "
        f"{result['max_abs_param_diff_vs_single']:.1e}.",
        f"Each device keeps {mem['parameters']:,} bytes of parameters "
        f"(plain data parallelism: {base['parameters']:,}), and works with "
        f"{mem['activations']:,} bytes of activations and temporaries ({base['activations']:,}).",
    ]
    for row in result["collective_bytes"]:
        lines.append(
            f"{row['kind']} over {row['group_size']} devices: {row['compiled_bytes']:,} bytes per "
            f"step in the compiled program, {row['analytic_bytes']:,} by the analysis "
            f"({'equal' if row['match'] else 'DIFFERENT'})."
        )
    if "bubble_fraction_formula" in result:
        lines.append(
            f"Bubble (S-1)/(M+S-1) = {result['bubble_fraction_formula']:.2f} of every stage's time."
        )
    return "<p>" + "<br>".join(lines) + "</p>"


class MeshExplorer:
    """The dashboard; ``.widget`` is what to display, ``.run()`` trains the chosen split."""

    def __init__(self, devices: int = 8, steps: int = 10):
        self.devices = len(request_devices(devices))
        self.steps = steps
        self.kind = w.ToggleButtons(options=["tensor", "pipeline"], value="tensor",
                                    description="split")  # fmt: skip
        self.shape = w.Dropdown(description="mesh")
        self.microbatches = w.Dropdown(options=[1, 2, 4, 8, 16], value=4,
                                       description="microbatches")  # fmt: skip
        self.button = w.Button(description="Train", button_style="primary", icon="play",
                               tooltip="train this split and one device, then compare")  # fmt: skip
        self.status = w.HTML()
        self.image = w.Image(format="png", layout=w.Layout(max_width="720px"))
        self.kind.observe(lambda _: self._shapes(), names="value")
        self.button.on_click(lambda _: self.run())
        self._shapes()
        controls = w.VBox([self.kind, w.HBox([self.shape, self.microbatches]), self.button])
        self.widget = w.VBox([controls, self.status, self.image])
        self.results: dict = {}

    def _shapes(self) -> None:
        inner = "model" if self.kind.value == "tensor" else "stages"
        shapes = mesh_shapes(self.devices, None if inner == "model" else 4)  # 4 layers
        self.shape.options = [(f"{d} data x {m} {inner}", (d, m)) for d, m in shapes]
        self.shape.value = shapes[-1] if inner == "stages" else (self.devices // 4, 4)
        self.microbatches.disabled = inner == "model"

    def run(self) -> None:
        """Train the chosen split, plain data parallelism and the single-device reference."""
        self.status.value = "<i>Training...</i>"
        data, inner = self.shape.value
        try:
            if self.kind.value == "tensor":
                result = tp_summary(data=data, model=inner, steps=self.steps)
            else:
                result = pp_summary(data=data, stages=inner, steps=self.steps, measure=False,
                                    microbatches=self.microbatches.value)  # fmt: skip
            baseline = tp_summary(data=self.devices, model=1, steps=self.steps)
        except SimlibError as err:
            self.status.value = f"<p><b>Cannot train:</b> {html.escape(str(err))}</p>"
            return
        self.results = {"data parallel": baseline, self.shape.label: result}
        self.image.value = figure_png(plot_memory_per_device(self.results))
        self.status.value = describe_split(result, baseline)


def mesh_explorer(devices: int = 8, steps: int = 10) -> w.Widget:
    """Build the dashboard, train once with its defaults (2 data x 4 model), return the widget."""
    explorer = MeshExplorer(devices, steps)
    explorer.run()
    explorer.widget.explorer = explorer  # reachable for tests and curious learners
    return explorer.widget
