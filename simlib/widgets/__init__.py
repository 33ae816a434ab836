"""ipywidgets dashboards composed from the engines and ``simlib.viz`` (JupyterLab and Voila)."""

from simlib.widgets.data_parallel import DataParallelExplorer, data_parallel_explorer, describe_run

__all__ = [
    "DataParallelExplorer",
    "data_parallel_explorer",
    "describe_run",
]
