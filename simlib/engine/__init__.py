"""The JAX engine: parallel training that really runs (nothing here is simulated).

Importing this package imports JAX. Call ``request_devices(n)`` before anything else touches
JAX, so that ``n`` virtual CPU devices can still be created when no accelerator is present.
"""

from simlib.engine.checkpoint import CheckpointConfig, Checkpointer, SimulatedCrash
from simlib.engine.comms import (
    COLLECTIVE_KINDS,
    Collective,
    collectives,
    ring_bytes_sent,
    summarize,
)
from simlib.engine.compilation import CompileCounter
from simlib.engine.data import (
    DATASETS,
    Dataset,
    digits,
    global_batches,
    load_dataset,
    shard,
    synthetic,
)
from simlib.engine.data_parallel import (
    STYLES,
    DPConfig,
    TrainReport,
    accumulated_grads,
    make_step,
    style_source,
    train_data_parallel,
)
from simlib.engine.devices import DeviceInfo, describe_devices, make_mesh, request_devices
from simlib.engine.model import (
    MLPConfig,
    accuracy,
    apply_mlp,
    init_mlp,
    loss_fn,
    param_bytes,
    param_count,
    param_sha256,
    sgd_update,
    tree_max_abs_diff,
)
from simlib.engine.pitfalls import shard_map_gradient_scale

__all__ = [
    "COLLECTIVE_KINDS",
    "CheckpointConfig",
    "Checkpointer",
    "DATASETS",
    "STYLES",
    "SimulatedCrash",
    "Collective",
    "CompileCounter",
    "DPConfig",
    "Dataset",
    "DeviceInfo",
    "MLPConfig",
    "TrainReport",
    "accumulated_grads",
    "accuracy",
    "apply_mlp",
    "collectives",
    "describe_devices",
    "digits",
    "global_batches",
    "init_mlp",
    "load_dataset",
    "loss_fn",
    "make_mesh",
    "make_step",
    "param_bytes",
    "param_count",
    "param_sha256",
    "request_devices",
    "ring_bytes_sent",
    "sgd_update",
    "shard",
    "shard_map_gradient_scale",
    "style_source",
    "summarize",
    "synthetic",
    "tree_max_abs_diff",
    "train_data_parallel",
]
