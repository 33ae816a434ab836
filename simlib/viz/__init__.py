"""Figures: each function takes a report or a trace and returns a ``matplotlib.figure.Figure``.

Nothing here runs an engine; it only draws what the engines reported. Modules, by subject:
``training`` (engine runs: loss curves, step times, collectives); ``timeline`` and ``cluster``
(simulator traces: timelines, pipeline charts, staleness, server traffic, speed-up);
``parallelism`` (model-parallel engine runs: memory per device, the pipeline's ticks and bubble,
memory saved against bytes sent); ``convergence`` (real training under simulated schedules:
loss against time and updates, the synchronisation trade-off); ``failures`` (crashes,
checkpoints and restarts; the best checkpoint interval); ``items`` (a graded class's item
analysis: difficulty against discrimination).
"""

from simlib.viz.cluster import (
    plot_server_traffic,
    plot_speedup,
    plot_staleness,
    plot_time_breakdown,
    plot_time_per_worker,
    simulation_figures,
)
from simlib.viz.convergence import plot_loss_vs_time, plot_tradeoff
from simlib.viz.display import enable_notebook_display, figure_png
from simlib.viz.failures import plot_checkpoint_intervals, plot_failure_timeline
from simlib.viz.items import plot_item_analysis
from simlib.viz.parallelism import (
    plot_bubble,
    plot_memory_per_device,
    plot_memory_vs_bytes,
    plot_pipeline_ticks,
)
from simlib.viz.timeline import plot_pipeline, plot_timeline
from simlib.viz.training import plot_collectives, plot_digits, plot_losses, plot_step_times

enable_notebook_display()

__all__ = [
    "enable_notebook_display",
    "figure_png",
    "plot_bubble",
    "plot_checkpoint_intervals",
    "plot_collectives",
    "plot_digits",
    "plot_failure_timeline",
    "plot_item_analysis",
    "plot_loss_vs_time",
    "plot_losses",
    "plot_memory_per_device",
    "plot_memory_vs_bytes",
    "plot_pipeline",
    "plot_pipeline_ticks",
    "plot_server_traffic",
    "plot_speedup",
    "plot_staleness",
    "plot_time_breakdown",
    "plot_time_per_worker",
    "plot_timeline",
    "plot_tradeoff",
    "plot_step_times",
    "simulation_figures",
]
