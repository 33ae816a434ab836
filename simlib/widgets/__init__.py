"""ipywidgets dashboards composed from the engines and ``simlib.viz`` (JupyterLab and Voila)."""

from simlib.widgets.data_parallel import DataParallelExplorer, data_parallel_explorer, describe_run
from simlib.widgets.model_parallel import (
    MeshExplorer,
    describe_split,
    mesh_explorer,
    mesh_shapes,
)

__all__ = [
    "DataParallelExplorer",
    "MeshExplorer",
    "data_parallel_explorer",
    "describe_run",
    "describe_split",
    "mesh_explorer",
    "mesh_shapes",
]
