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
from simlib.engine.stale import ReplayConfig, ReplayError, ReplayReport, replay
from simlib.engine.tradeoff import PolicyRun, TradeoffPoint, tradeoff_sweep, train_policies

__all__ = [
    "ReplayConfig",
    "ReplayError",
    "ReplayReport",
    "replay",
    "PolicyRun",
    "TradeoffPoint",
    "train_policies",
    "tradeoff_sweep",
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

# Model parallelism: tensor, pipeline, ZeRO, memory per device, several processes.
from simlib.engine.launch import (  # noqa: E402
    LaunchConfig,
    LaunchError,
    LaunchResult,
    check_port,
    free_port,
    initialize_from_env,
    launch,
)
from simlib.engine.memory import (  # noqa: E402
    MEMORY_CATEGORIES,
    MemoryPerDevice,
    measure_memory,
    memory_model,
    shard_bytes,
)
from simlib.engine.parallel_report import (  # noqa: E402
    pp_summary,
    strategy_fields,
    strategy_text,
    tp_summary,
    zero_summary,
)
from simlib.engine.pipeline import (  # noqa: E402
    PP_SCHEDULES,
    PPConfig,
    gpipe_ticks,
    measure_bubble,
    pp_collectives,
    program_bubble,
    stack_stages,
    train_pipeline,
    unstack_stages,
)
from simlib.engine.strategy import (  # noqa: E402
    OPTIMIZERS,
    StrategyReport,
    TrainSettings,
    compare_collectives,
    reference_train,
)
from simlib.engine.tensor_parallel import (  # noqa: E402
    TPConfig,
    tp_collectives,
    tp_specs,
    train_tensor_parallel,
)
from simlib.engine.zero import (  # noqa: E402
    ZERO_STAGES,
    ZERO_STYLES,
    ZeROConfig,
    train_zero,
    zero_collectives,
    zero_spec,
)

__all__ += [
    "LaunchConfig",
    "LaunchError",
    "LaunchResult",
    "MEMORY_CATEGORIES",
    "MemoryPerDevice",
    "OPTIMIZERS",
    "PPConfig",
    "PP_SCHEDULES",
    "StrategyReport",
    "TPConfig",
    "TrainSettings",
    "ZERO_STAGES",
    "ZERO_STYLES",
    "ZeROConfig",
    "check_port",
    "compare_collectives",
    "free_port",
    "gpipe_ticks",
    "initialize_from_env",
    "launch",
    "measure_bubble",
    "measure_memory",
    "memory_model",
    "pp_collectives",
    "pp_summary",
    "program_bubble",
    "reference_train",
    "shard_bytes",
    "stack_stages",
    "strategy_fields",
    "strategy_text",
    "tp_collectives",
    "tp_specs",
    "tp_summary",
    "train_pipeline",
    "train_tensor_parallel",
    "train_zero",
    "unstack_stages",
    "zero_collectives",
    "zero_spec",
    "zero_summary",
]
