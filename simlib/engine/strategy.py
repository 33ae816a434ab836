"""What the model-parallel strategies share: settings, placement, the timed loop, the reference.

Tensor parallelism, the pipeline and ZeRO each build a ``Plan``: a step function compiled once,
the placed initial state, how to place a batch, and how to bring the parameters back to the
single-device layout ``[{"w": W[D_in, D_out], "b": b[D_out]}, ...]``. ``run_plan`` then trains
with it exactly like ``train_data_parallel`` does (compile ahead of time, block on every step),
and ``reference_train`` trains the same network on one device with the same optimizer on the same
batches, so every strategy can be checked against it.

Placement works in one process and across several (``jax.distributed``): ``jax.device_put`` of
a host array that every process holds puts each process's shards on its own devices, and
``to_host`` gathers shards that live in other processes (``process_allgather``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np
import optax

from simlib.engine.compilation import CompileCounter
from simlib.engine.data import DATASETS, global_batches, load_dataset
from simlib.engine.divergence import check_loss
from simlib.engine.model import (
    accuracy,
    init_mlp,
    loss_fn,
)
from simlib.engine.run_summary import RunSummary
from simlib.errors import ConfigError, check_positive

__all__ = [
    "OPTIMIZERS",
    "Plan",
    "StrategyReport",
    "TrainSettings",
    "collective",
    "collective_totals",
    "compare_collectives",
    "make_optimizer",
    "reference_train",
    "run_plan",
    "to_host",
]

OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class TrainSettings:
    """What every strategy trains: the network, the data, the optimizer and how long.

    ``batch_size`` is the global batch of every step; ``hidden`` the hidden layer widths of the
    MLP ``(D_features, *hidden, classes)``.
    """

    steps: int = 20
    batch_size: int = 128
    learning_rate: float = 0.1
    optimizer: str = "sgd"
    hidden: tuple[int, ...] = (128, 128, 128)
    dataset: str = "digits"
    seed: int = 0

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ConfigError(f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        for name in ("steps", "batch_size"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("learning_rate", self.learning_rate)
        hidden = tuple(self.hidden)
        if not hidden or any(int(h) != h or h <= 0 for h in hidden):
            raise ConfigError(
                f"hidden must be widths > 0, e.g. (128, 128, 128), got {self.hidden!r}"
            )
        object.__setattr__(self, "hidden", tuple(int(h) for h in hidden))

    def layer_sizes(self) -> tuple[int, ...]:
        """``(D_features, *hidden, classes)`` of the data set (digits: 64 and 10)."""
        features, classes = {"digits": (64, 10), "synthetic": (784, 10)}[self.dataset]
        return (features, *self.hidden, classes)

    @property
    def num_layers(self) -> int:
        return len(self.hidden) + 1


def make_optimizer(name: str, learning_rate: float) -> optax.GradientTransformation:
    """``optax.sgd`` (``theta <- theta - lr g``) or ``optax.adam`` with the default betas."""
    if name == "sgd":
        return optax.sgd(learning_rate)
    if name == "adam":
        return optax.adam(learning_rate)
    raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


@dataclass(frozen=True)
class Plan:
    """How one strategy trains: everything ``run_plan`` needs.

    ``step(state, x, y) -> (state, loss)`` is a ``jax.jit`` function; ``state`` the placed
    initial state; ``batch(x, y)`` places a host batch; ``params_of(state)`` returns host numpy
    parameters in the single-device layout; ``grad_step(state, x, y) -> grads`` (as the strategy
    keeps them between backward and update) is compiled only to measure their memory.
    """

    step: Callable
    state: Any
    batch: Callable
    params_of: Callable
    grad_step: Callable | None = None


@dataclass(frozen=True, eq=False)
class StrategyReport(RunSummary):
    """A model-parallel run: duck-compatible with ``TrainReport`` (``report.report_fields``).

    ``analytic`` lists the collectives the strategy must send per step (derived by hand in its
    module); ``memory`` the measured bytes per device; ``extras`` strategy-specific numbers.
    """

    config: Any
    losses: tuple[float, ...]
    params: list = field(repr=False)
    compile_seconds: float
    step_seconds: tuple[float, ...]
    hlo_text: str = field(repr=False)
    final_accuracy: float
    analytic: tuple[dict, ...] = ()
    memory: Any = None
    extras: dict = field(default_factory=dict)
    compiles_during_steps: int = 0
    resumed_from_step: int = 0


def to_host(tree):
    """Host numpy copies of a tree of ``jax.Array``, gathering shards held by other processes."""

    def one(a):
        if not isinstance(a, jax.Array) or a.is_fully_addressable or a.is_fully_replicated:
            return np.asarray(a)
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(a, tiled=True))

    return jax.tree.map(one, tree)


def _loss_value(loss) -> float:
    """The loss of a step as a Python float (blocks until the step is done)."""
    loss = jax.block_until_ready(loss)
    if isinstance(loss, jax.Array) and not loss.is_fully_addressable:
        loss = loss.addressable_shards[0].data
    return float(np.asarray(loss).reshape(-1)[0])


def run_plan(
    plan: Plan,
    batches: Sequence,
    *,
    progress: bool = False,
    label: str = "",
    learning_rate: float = float("nan"),
):
    """Compile ``plan.step`` once, then run it on every batch, blocking after each step.

    A loss that is not finite stops the run (``NonFiniteLoss`` naming the step and
    ``learning_rate``).

    Returns:
        ``(state, losses, step_seconds, compile_seconds, compiled, compiles_during_steps)``.
    """
    placed = [plan.batch(x, y) for x, y in batches]
    start = time.perf_counter()
    compiled = plan.step.lower(plan.state, *placed[0]).compile()
    compile_seconds = time.perf_counter() - start
    state, losses, step_seconds = plan.state, [], []
    items = placed
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(placed, desc=label, unit="step", leave=False)
    with CompileCounter() as compiles:
        for x, y in items:
            start = time.perf_counter()
            state, loss = compiled(state, x, y)
            losses.append(_loss_value(loss))  # block every step (REFERENCES.md, 2-core deadlock)
            check_loss(len(losses), losses[-1], learning_rate)
            step_seconds.append(time.perf_counter() - start)
    return state, tuple(losses), tuple(step_seconds), compile_seconds, compiled, compiles.count


def setup(settings: TrainSettings):
    """The data set, the global batches and the initial host parameters of a run."""
    data = load_dataset(settings.dataset, seed=settings.seed)
    sizes = settings.layer_sizes()
    assert (sizes[0], sizes[-1]) == (data.num_features, data.num_classes), "data set changed shape"
    batches = global_batches(data, settings.batch_size, settings.steps, seed=settings.seed)
    params = init_mlp(jax.random.key(settings.seed), sizes)
    return data, batches, jax.tree.map(np.asarray, params)


def finish(config, plan: Plan, batches, data, *, progress: bool = False, **fields):
    """Run ``plan`` on ``batches`` and wrap the result in a ``StrategyReport``.

    ``fields`` (``analytic``, ``memory``, ``extras``) are passed on to the report; the compiled
    step is returned too, for memory and collective analysis.
    """
    state, losses, step_seconds, compile_seconds, compiled, compiles = run_plan(
        plan, batches, progress=progress, label=config.style, learning_rate=config.learning_rate
    )
    params = plan.params_of(state)
    report = StrategyReport(
        config=config, losses=losses, params=params, compile_seconds=compile_seconds,
        step_seconds=step_seconds, hlo_text=compiled.as_text(),
        final_accuracy=accuracy(params, data.x, data.y), compiles_during_steps=compiles,
        **fields,
    )  # fmt: skip
    return report, compiled, state


def reference_train(settings: TrainSettings, *, device=None):
    """Train the same MLP on one device, same optimizer and batches: the answer to match.

    Args:
        settings: the run's ``TrainSettings`` (any strategy config is one).
        device: the device; default this process's first local device.

    Returns:
        ``(params, losses)``: host numpy parameters ``[{"w", "b"}, ...]`` and the loss per step.
    """
    device = device or jax.local_devices()[0]
    _, batches, host = setup(settings)
    tx = make_optimizer(settings.optimizer, settings.learning_rate)

    @jax.jit
    def step(state, x, y):
        params, opt_state = state
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    params = jax.device_put(host, device)
    state = (params, tx.init(params))
    losses = []
    for x, y in batches:
        state, loss = step(state, *jax.device_put((x, y), device))
        losses.append(_loss_value(loss))
        check_loss(len(losses), losses[-1], settings.learning_rate)
    return jax.tree.map(np.asarray, state[0]), tuple(losses)


def collective(kind: str, nbytes: int, group_size: int, what: str, count: int = 1) -> dict:
    """One analytic collective: ``count`` executions of ``kind`` on ``nbytes`` per device.

    ``nbytes`` follows ``simlib.engine.comms``: the operand one device puts in (the shard for an
    all-gather, the whole buffer for an all-reduce or reduce-scatter).
    """
    return {"kind": kind, "bytes": int(nbytes), "count": int(count),
            "group_size": int(group_size), "what": what}  # fmt: skip


def collective_totals(rows) -> dict[tuple[str, int], int]:
    """``{(kind, group_size): bytes x count summed}`` over analytic or compiled rows."""
    totals: dict[tuple[str, int], int] = {}
    for r in rows:
        if r["group_size"] <= 1:
            continue
        key = (r["kind"], r["group_size"])
        totals[key] = totals.get(key, 0) + r["bytes"] * r["count"]
    return totals


def compare_collectives(analytic, compiled) -> list[dict]:
    """Per (kind, group size): the bytes per step the analysis predicts and the HLO holds.

    Args:
        analytic: rows from ``collective`` (a strategy's ``*_collectives`` function).
        compiled: rows from ``simlib.engine.summarize(collectives(hlo_text))``.

    Returns:
        ``[{"kind", "group_size", "analytic_bytes", "compiled_bytes", "match"}]``.
    """
    want, have = collective_totals(analytic), collective_totals(compiled)
    return [
        {"kind": k, "group_size": g, "analytic_bytes": want.get((k, g), 0),
         "compiled_bytes": have.get((k, g), 0), "match": want.get((k, g)) == have.get((k, g))}
        for k, g in sorted(set(want) | set(have))
    ]  # fmt: skip


def is_spec(x) -> bool:
    """True for a ``PartitionSpec`` (a tuple, so tree functions must be told it is a leaf)."""
    from jax.sharding import PartitionSpec

    return isinstance(x, PartitionSpec)


def optimizer_specs(tx: optax.GradientTransformation, opt_state, param_specs):
    """Partition specs for ``opt_state``: each copy of the parameters (Adam's moments) gets
    ``param_specs``, everything else (step counters) is replicated, ``P()``."""
    from jax.sharding import PartitionSpec

    return optax.tree_map_params(
        tx, lambda _, spec: spec, opt_state, param_specs,
        transform_non_params=lambda _: PartitionSpec(), is_leaf=is_spec,
    )  # fmt: skip


def named(mesh, specs):
    """``NamedSharding(mesh, spec)`` for every spec of a tree of ``PartitionSpec``."""
    from jax.sharding import NamedSharding

    return jax.tree.map(lambda s: NamedSharding(mesh, s), specs, is_leaf=is_spec)
