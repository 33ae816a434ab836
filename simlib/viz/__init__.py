"""Figures: each function takes a report or a trace and returns a ``matplotlib.figure.Figure``.

Nothing here runs an engine; it only draws what the engines reported. Modules, by subject:
``training`` (engine runs: loss curves, step times, collectives).
"""

from simlib.viz.training import plot_collectives, plot_losses, plot_step_times

__all__ = [
    "plot_collectives",
    "plot_losses",
    "plot_step_times",
]
