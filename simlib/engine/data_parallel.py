"""Synchronous data-parallel SGD, written the three ways JAX offers, plus the reference.

Every device holds the whole model; the global batch ``x[B, D]`` is split into ``n`` shards
``x[B/n, D]``; each device computes the gradient of its shard; an all-reduce averages the ``n``
gradients; every device applies the same update. Because the loss is a mean over equal shards,

    g = (1/B) sum_i grad l(x_i) = (1/n) sum_d (n/B) sum_{i in shard d} grad l(x_i),

so each step equals one single-device step on the global batch (up to float rounding).

Styles (``STYLES``):

- ``"single"``: the reference, ``jax.jit`` on one device with the whole batch.
- ``"pmap"``: ``jax.pmap`` over a device axis with ``lax.pmean`` of the gradients.
- ``"jit"``: ``jax.jit`` with ``NamedSharding`` in/out shardings (the successor of ``pjit``):
  the code is the single-device code and the compiler inserts the all-reduce.
- ``"shard_map"``: ``jax.shard_map`` per-device code with an explicit ``lax.pmean``. With
  ``check_vma`` on, ``grad`` w.r.t. replicated parameters already sums over the axis, so the
  parameters are first marked device-varying with ``lax.pcast`` (REFERENCES.md, JAX 0.10 facts).

``microbatches=k`` accumulates the gradient over ``k`` microbatches per device (``lax.scan``)
before the single all-reduce: same update, ``1/k`` of the activation memory.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from simlib.engine.checkpoint import CheckpointConfig, Checkpointer
from simlib.engine.compilation import CompileCounter
from simlib.engine.data import DATASETS, global_batches, load_dataset, shard
from simlib.engine.devices import make_mesh, request_devices
from simlib.engine.divergence import check_loss
from simlib.engine.model import (
    accuracy,
    init_mlp,
    loss_fn,
    sgd_update,
)
from simlib.engine.run_summary import RunSummary
from simlib.errors import ConfigError, check_divisible, check_positive

__all__ = [
    "STYLES",
    "DPConfig",
    "TrainReport",
    "accumulated_grads",
    "make_step",
    "style_source",
    "train_data_parallel",
]

STYLES = ("single", "pmap", "jit", "shard_map")
AXIS = "data"


@dataclass(frozen=True)
class DPConfig:
    """One data-parallel training run.

    ``batch_size`` is the global batch; each of ``devices`` devices gets ``batch_size/devices``
    rows, split again into ``microbatches`` for gradient accumulation.
    """

    style: str = "jit"
    devices: int = 8
    steps: int = 20
    batch_size: int = 128
    learning_rate: float = 0.1
    microbatches: int = 1
    hidden: tuple[int, ...] = (128,)
    dataset: str = "digits"
    seed: int = 0

    def __post_init__(self):
        if self.style not in STYLES:
            raise ConfigError(f"style must be one of {', '.join(STYLES)}, got {self.style!r}")
        if self.dataset not in DATASETS:
            raise ConfigError(f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        for name in ("devices", "steps", "batch_size", "microbatches"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("learning_rate", self.learning_rate)
        if self.style == "single" and self.devices != 1:
            object.__setattr__(self, "devices", 1)
        check_divisible("batch", self.batch_size, self.devices, "devices")
        check_divisible(
            "batch per device", self.batch_size // self.devices, self.microbatches, "microbatches"
        )
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))


@dataclass(frozen=True, eq=False)
class TrainReport(RunSummary):
    """What a run did: the loss per step, the final parameters, and how long it took."""

    config: DPConfig
    losses: tuple[float, ...]
    params: list = field(repr=False)
    compile_seconds: float
    step_seconds: tuple[float, ...]
    hlo_text: str = field(repr=False)
    final_accuracy: float
    compiles_during_steps: int = 0
    resumed_from_step: int = 0


def accumulated_grads(params, x, y, microbatches: int):
    """Mean loss and gradient over ``x[b, D]`` taken as ``k`` microbatches of ``b/k`` rows.

    With ``k = 1`` this is ``jax.value_and_grad(loss_fn)``. With ``k > 1`` a ``lax.scan`` sums
    per-microbatch losses and gradients, then divides by ``k``: the mean of equal-sized means is
    the mean over all rows, so the result is the full-batch gradient with ``1/k`` the activations.
    """
    if microbatches == 1:
        return jax.value_and_grad(loss_fn)(params, x, y)
    # Row r of x goes to microbatch r % k; keeps the leading (sharded) axis intact under jit.
    xs = jnp.swapaxes(x.reshape(x.shape[0] // microbatches, microbatches, *x.shape[1:]), 0, 1)
    ys = jnp.swapaxes(y.reshape(y.shape[0] // microbatches, microbatches), 0, 1)

    def body(carry, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
        total_loss, total_grads = carry
        return (total_loss + loss, jax.tree.map(jnp.add, total_grads, grads)), None

    # The first microbatch seeds the carry, so it has the right type (device-varying or not).
    first = jax.value_and_grad(loss_fn)(params, xs[0], ys[0])
    (loss, grads), _ = jax.lax.scan(body, first, (xs[1:], ys[1:]))
    return loss / microbatches, jax.tree.map(lambda g: g / microbatches, grads)


def _sgd_step(learning_rate, microbatches):
    def step(params, x, y):
        loss, grads = accumulated_grads(params, x, y, microbatches)
        return sgd_update(params, grads, learning_rate), loss

    return step


def _pmap_step(devices, learning_rate, microbatches):
    def step(params, x, y):  # per device: params replicated, x[B/n, D], y[B/n]
        loss, grads = accumulated_grads(params, x, y, microbatches)
        grads = jax.lax.pmean(grads, AXIS)  # the all-reduce, written by hand
        loss = jax.lax.pmean(loss, AXIS)
        return sgd_update(params, grads, learning_rate), loss

    return jax.pmap(step, axis_name=AXIS, devices=devices)


def _jit_step(mesh, learning_rate, microbatches):
    replicated = NamedSharding(mesh, P())
    batch = NamedSharding(mesh, P(AXIS))
    return jax.jit(
        _sgd_step(learning_rate, microbatches),  # the single-device code, unchanged
        in_shardings=(replicated, batch, batch),
        out_shardings=(replicated, replicated),
    )


def _shard_map_step(mesh, learning_rate, microbatches):
    def step(params, x, y):  # per device: params replicated, x[B/n, D], y[B/n]
        local = jax.lax.pcast(params, AXIS, to="varying")  # else grad is pre-summed over AXIS
        loss, grads = accumulated_grads(local, x, y, microbatches)
        grads = jax.lax.pmean(grads, AXIS)
        loss = jax.lax.pmean(loss, AXIS)
        return sgd_update(params, grads, learning_rate), loss

    mapped = jax.shard_map(
        step, mesh=mesh, in_specs=(P(), P(AXIS), P(AXIS)), out_specs=(P(), P())
    )
    return jax.jit(mapped)


def style_source(style: str) -> str:
    """The source code of the step that ``style`` runs, to read next to its results."""
    import inspect

    builders = {"single": _sgd_step, "pmap": _pmap_step, "jit": _jit_step,
                "shard_map": _shard_map_step}  # fmt: skip
    if style not in builders:
        raise ConfigError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    return inspect.getsource(builders[style])


@dataclass(frozen=True)
class _Placement:
    """How one style puts parameters and batches on its devices."""

    step: Callable
    params: Callable
    batch: Callable
    unreplicate: Callable


def make_step(style: str, devices: Sequence, learning_rate: float, microbatches: int = 1):
    """The step function of ``style`` and how to place its inputs.

    Returns an object with ``step(params, x, y) -> (params, loss)`` (un-compiled ``jit``/``pmap``
    function), ``params(tree)`` and ``batch(x, y)`` that put host data where the step wants it,
    and ``unreplicate(tree)`` that brings parameters back as host numpy arrays.
    """
    if style not in STYLES:
        raise ConfigError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    to_host = lambda tree: jax.tree.map(np.asarray, tree)
    if style == "single":
        device = devices[0]
        put = lambda tree: jax.device_put(tree, device)
        return _Placement(
            jax.jit(_sgd_step(learning_rate, microbatches)), put, lambda x, y: put((x, y)), to_host
        )
    n = len(devices)
    mesh = make_mesh(devices, (AXIS,))
    replicated, batch = NamedSharding(mesh, P()), NamedSharding(mesh, P(AXIS))
    if style == "pmap":  # pmap wants a leading device axis: A[n, ...], laid out like P("data")
        stack = lambda tree: jax.tree.map(
            lambda a: jax.device_put(np.broadcast_to(a, (n, *np.shape(a))), batch), tree
        )
        split = lambda a: jax.device_put(shard(np.asarray(a), n), batch)
        return _Placement(
            _pmap_step(devices, learning_rate, microbatches),
            stack,
            lambda x, y: (split(x), split(y)),
            lambda tree: jax.tree.map(lambda a: np.asarray(a[0]), tree),
        )
    step = (_jit_step if style == "jit" else _shard_map_step)(mesh, learning_rate, microbatches)
    return _Placement(
        step,
        lambda tree: jax.device_put(tree, replicated),
        lambda x, y: (jax.device_put(x, batch), jax.device_put(y, batch)),
        to_host,
    )


def train_data_parallel(
    config: DPConfig,
    *,
    devices: Sequence | None = None,
    progress: bool = False,
    checkpoint: CheckpointConfig | None = None,
) -> TrainReport:
    """Train the MLP on ``config.dataset`` with data parallelism in ``config.style``.

    The step is compiled once ahead of time (``lower(...).compile()``), so it cannot recompile
    during the run; every step blocks on its result before the next starts (many queued CPU
    collectives can deadlock a 2-core machine, REFERENCES.md).

    Args:
        config: style, device count, steps, global batch, learning rate, microbatches, ...
        devices: devices to use; default ``request_devices(config.devices)``.
        progress: show a tqdm progress bar over the steps.
        checkpoint: save every K steps with orbax, resume, or crash on purpose
            (``simlib.engine.checkpoint``); raises ``SimulatedCrash`` at ``fail_at_step``.

    Returns:
        A ``TrainReport`` with the loss of every step, the final parameters (host numpy),
        the compile time, the wall time of every step run here and the compiled program's HLO.

    Example:
        >>> report = train_data_parallel(DPConfig(style="pmap", devices=8))  # doctest: +SKIP
        >>> report.final_loss                                                # doctest: +SKIP
    """
    if devices is None:
        devices = request_devices(config.devices)
    elif len(devices) != config.devices:
        raise ConfigError(f"config asks for {config.devices} devices but {len(devices)} were given")
    data = load_dataset(config.dataset, seed=config.seed)
    sizes = (data.num_features, *config.hidden, data.num_classes)
    host_params = jax.tree.map(np.asarray, init_mlp(jax.random.key(config.seed), sizes))
    batches = global_batches(data, config.batch_size, config.steps, seed=config.seed)
    saver = Checkpointer(checkpoint, config) if checkpoint else None
    first, host_params, losses = saver.restore(host_params) if saver else (0, host_params, [])

    plan = make_step(config.style, devices, config.learning_rate, config.microbatches)
    params = plan.params(host_params)
    placed = [plan.batch(x, y) for x, y in batches[first:]]
    start = time.perf_counter()
    compiled = plan.step.lower(params, *plan.batch(*batches[0])).compile()
    compile_seconds = time.perf_counter() - start

    steps = _progress(placed, progress, f"{config.style} x{config.devices}", first)
    step_seconds = []
    with CompileCounter() as compiles:
        for number, (x, y) in enumerate(steps, start=first + 1):
            start = time.perf_counter()
            params, loss = compiled(params, x, y)
            losses.append(float(np.asarray(jax.block_until_ready(loss)).reshape(-1)[0]))
            check_loss(number, losses[-1], config.learning_rate)
            step_seconds.append(time.perf_counter() - start)
            if saver:
                with compiles.ignoring():
                    saver.after_step(number, functools.partial(plan.unreplicate, params), losses)
    if saver:
        saver.close()
    final = plan.unreplicate(params)
    return TrainReport(
        config=config,
        losses=tuple(losses),
        params=final,
        compile_seconds=compile_seconds,
        step_seconds=tuple(step_seconds),
        hlo_text=compiled.as_text(),
        final_accuracy=accuracy(final, data.x, data.y),
        compiles_during_steps=compiles.count,
        resumed_from_step=first,
    )


def _progress(items, enabled: bool, label: str, done: int = 0):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=label, unit="step", leave=False, initial=done, total=done + len(items))
