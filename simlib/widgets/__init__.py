"""ipywidgets dashboards composed from the engines and ``simlib.viz`` (JupyterLab and Voila)."""

from simlib.widgets.convergence import PolicyExplorer, outcome_table, policy_explorer
from simlib.widgets.data_parallel import DataParallelExplorer, data_parallel_explorer, describe_run
from simlib.widgets.failures import CheckpointExplorer, checkpoint_explorer
from simlib.widgets.model_parallel import (
    MeshExplorer,
    describe_split,
    mesh_explorer,
    mesh_shapes,
)
from simlib.widgets.parameter_servers import (
    ParameterServerDashboard,
    bottleneck_html,
    parameter_server_dashboard,
)
from simlib.widgets.sync import SyncDashboard, summary_html, sync_dashboard

__all__ = [
    "CheckpointExplorer",
    "checkpoint_explorer",
    "DataParallelExplorer",
    "MeshExplorer",
    "ParameterServerDashboard",
    "PolicyExplorer",
    "SyncDashboard",
    "bottleneck_html",
    "data_parallel_explorer",
    "describe_run",
    "describe_split",
    "mesh_explorer",
    "mesh_shapes",
    "outcome_table",
    "parameter_server_dashboard",
    "policy_explorer",
    "summary_html",
    "sync_dashboard",
]
