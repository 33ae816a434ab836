"""Figures: each function takes a report or a trace and returns a ``matplotlib.figure.Figure``.

Nothing here runs an engine; it only draws what the engines reported. Modules, by subject:
``training`` (engine runs: loss curves, step times, collectives).
"""

from simlib.viz.display import enable_notebook_display, figure_png
from simlib.viz.training import plot_collectives, plot_digits, plot_losses, plot_step_times

enable_notebook_display()

__all__ = [
    "enable_notebook_display",
    "figure_png",
    "plot_collectives",
    "plot_digits",
    "plot_losses",
    "plot_step_times",
]
