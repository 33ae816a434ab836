"""ZeRO / FSDP: parameters, gradients and optimizer state sharded over the data axis.

Plain data parallelism keeps a full copy of everything on each of the ``N`` devices: parameters
(4 bytes each in float32), gradients (4) and Adam's two moments (8). ZeRO (Rajbhandari et al.,
SC 2020) removes the copies stage by stage; each device keeps ``1/N`` of

    stage 1: the optimizer state        stage 2: + the gradients        stage 3: + the parameters

Each array is split over 'data' along its largest dimension that ``N`` divides (``zero_spec``);
an array no dimension of which ``N`` divides stays whole on every device (the "padding" of this
scheme: here only the last bias ``b[10]``). Two spellings of the same step (``step_style``):

- ``"jit"``: the single-device step under ``jax.jit``; only the shardings change and the
  compiler inserts the communication. Stage 3 all-gathers every sharded parameter before the
  forward pass; stages 1-2 all-gather the updated shards after the update; every stage sums the
  gradients with one all-reduce, after which each device keeps its slice. (XLA's GPU compiler
  rewrites such an all-reduce + slice into a reduce-scatter, its ``ReduceScatterCreator`` pass;
  the CPU compiler has no such pass.)
- ``"shard_map"``: per-device code with the paper's collectives written out: the gradients are
  reduce-scattered (``psum_scatter``), each device updates its shard, and the shards are
  all-gathered (after the update in stages 1-2, before the forward pass in stage 3, where the
  all-gather's transpose is the reduce-scatter). Stages 1 and 2 run the same program: in a step
  of one microbatch, gradients never outlive the step, so "keeping them whole" only shows in the
  gradient memory, measured with the stage's gradient sharding.

ZeRO-3 as DeepSpeed runs it frees the gathered weights after the forward pass and gathers them
again for the backward pass (hence its 1.5x communication). XLA on CPU merges that second
all-gather into the first (``jax.checkpoint``'s barriers are removed before common-subexpression
elimination), so here a step gathers once and keeps the weights for the backward pass.

Analytic communication per step and device (``zero_collectives``; P parameters, float32):

    jit:        all-reduce 4P + 4 (gradients, loss); stages >= 1: all-gather 4 size(a) / N for
                each sharded array a
    shard_map:  stage 0 as jit; stages >= 1: reduce-scatter 4 size(a) and all-gather
                4 size(a) / N for each sharded array a, all-reduce of the whole arrays + 4

With the ring algorithm a device sends ``2 (N-1)/N 4P`` for an all-reduce and ``(N-1)/N 4P`` for
a reduce-scatter or an all-gather of everything: ``shard_map`` ZeRO sends what plain data
parallelism sends (the paper's 1x), ``jit`` ZeRO on CPU 1.5x.

Example:
    >>> report = train_zero(ZeROConfig(stage=3, devices=8))   # doctest: +SKIP
    >>> report.memory.parameters                              # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import PartitionSpec as P

from simlib.engine.devices import make_mesh, request_devices
from simlib.engine.memory import measure_memory, memory_model
from simlib.engine.model import loss_fn, param_count
from simlib.engine.strategy import (
    Plan,
    StrategyReport,
    TrainSettings,
    collective,
    finish,
    make_optimizer,
    named,
    optimizer_specs,
    setup,
    to_host,
)
from simlib.errors import ConfigError, check_divisible, check_positive

__all__ = [
    "ZERO_STAGES",
    "ZERO_STYLES",
    "ZeROConfig",
    "train_zero",
    "zero_collectives",
    "zero_spec",
    "zero_specs",
]

ZERO_STAGES = (0, 1, 2, 3)
ZERO_STYLES = ("jit", "shard_map")


@dataclass(frozen=True)
class ZeROConfig(TrainSettings):
    """ZeRO ``stage`` (0 = plain data parallelism) over ``devices`` data-parallel ranks."""

    learning_rate: float = 0.01
    optimizer: str = "adam"
    stage: int = 3
    devices: int = 8
    step_style: str = "jit"

    def __post_init__(self):
        super().__post_init__()
        if self.step_style not in ZERO_STYLES:
            raise ConfigError(f"step_style must be one of {', '.join(ZERO_STYLES)}, got "
                              f"{self.step_style!r}")  # fmt: skip
        if self.stage not in ZERO_STAGES:
            raise ConfigError(
                f"stage must be 0 (plain data parallelism), 1, 2 or 3, got {self.stage!r}"
            )
        check_positive("devices", self.devices, integer=True)
        check_divisible("batch", self.batch_size, self.devices, "devices")

    style = property(
        lambda self: f"zero{self.stage}" + ("" if self.step_style == "jit" else "-shard_map")
    )
    data = property(lambda self: self.devices)
    microbatches = property(lambda self: 1)


def zero_spec(shape: Sequence[int], ranks: int) -> P:
    """Split over 'data' along the largest dimension ``ranks`` divides; ``P()`` if none does.

    Example:
        >>> zero_spec((64, 128), 8), zero_spec((10,), 8)
        (PartitionSpec(None, 'data'), PartitionSpec())
    """
    dims = [d for d in range(len(shape)) if shape[d] % ranks == 0]
    if not dims or ranks == 1:
        return P()
    best = max(dims, key=lambda d: (shape[d], -d))
    return P(*[("data" if d == best else None) for d in range(len(shape))])


def zero_specs(stage: int, params, tx, ranks: int):
    """``(param, optimizer, gradient)`` partition-spec trees for ZeRO ``stage``."""
    sharded = jax.tree.map(lambda a: zero_spec(np.shape(a), ranks), params)
    whole = jax.tree.map(lambda a: P(), params)
    opt_state = tx.init(params)
    param_specs = sharded if stage >= 3 else whole
    opt_specs = optimizer_specs(tx, opt_state, sharded if stage >= 1 else whole)
    grad_specs = sharded if stage >= 2 else whole
    return param_specs, opt_specs, grad_specs


def _zero_step(tx: optax.GradientTransformation, grad_shardings):
    def step(state, x, y):  # global view: x[B, D_in], y[B]; the shardings say who holds what
        params, opt_state = state
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        grads = jax.lax.with_sharding_constraint(grads, grad_shardings)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    return step


def _data_dim(spec: P) -> int | None:
    """The dimension ``spec`` splits over 'data', or None for a replicated array."""
    return tuple(spec).index("data") if "data" in tuple(spec) else None


def _gather(a, spec: P, to: str = "varying"):
    """All-gather a shard into the whole array (identity for a replicated array)."""
    dim = _data_dim(spec)
    return a if dim is None else jax.lax.all_gather(a, "data", axis=dim, tiled=True, to=to)


def _reduce_scatter_mean(g, spec: P, ranks: int):
    """Mean over 'data' of every device's gradient, of which this device keeps its slice."""
    dim = _data_dim(spec)
    if dim is None:
        return jax.lax.pmean(g, "data")
    return jax.lax.psum_scatter(g, "data", scatter_dimension=dim, tiled=True) / ranks


def _own_slice(a, spec: P, ranks: int):
    """This device's slice of a whole (replicated) array: what its optimizer shard updates."""
    dim = _data_dim(spec)
    if dim is None:
        return a
    size = a.shape[dim] // ranks
    return jax.lax.dynamic_slice_in_dim(a, jax.lax.axis_index("data") * size, size, axis=dim)


def _gathered_loss(shards, x, y, specs):
    """ZeRO-3's forward pass on ``x[B/N, D_in]``: each layer all-gathers its weights just
    before use (autodiff turns each all-gather into a reduce-scatter of the gradient)."""
    last = len(shards) - 1
    for i, (layer, spec) in enumerate(zip(shards, specs, strict=True)):
        full = jax.tree.map(_gather, layer, spec)  # W[D_in, D_out], b[D_out] whole
        x = x @ full["w"] + full["b"]
        x = jax.nn.relu(x) if i < last else x
    logp = jax.nn.log_softmax(x)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def _zero3_shard_map_step(tx, specs, ranks: int):
    def step(state, x, y):  # per device: parameter and Adam shards, x[B/N, D_in], y[B/N]
        shards, opt_state = state
        vary = lambda a, s: jax.lax.pcast(a, "data", to="varying") if _data_dim(s) is None else a
        local = jax.tree.map(vary, shards, specs)  # whole leaves: else grad is pre-summed
        loss, grads = jax.value_and_grad(_gathered_loss)(local, x, y, specs)
        # the all-gather's transpose is a reduce-scatter: sharded grads arrive summed over 'data'
        mean = lambda g, s: g / ranks if _data_dim(s) is not None else jax.lax.pmean(g, "data")
        grads = jax.tree.map(mean, grads, specs)
        updates, opt_state = tx.update(grads, opt_state, shards)
        return (optax.apply_updates(shards, updates), opt_state), jax.lax.pmean(loss, "data")

    return step


def _zero012_shard_map_step(tx, specs, ranks: int, stage: int):
    def step(state, x, y):  # per device: whole parameters, Adam shards (stage >= 1), x[B/N], y[B/N]
        params, opt_state = state
        local = jax.lax.pcast(params, "data", to="varying")  # else grad is pre-summed (pitfall)
        loss, grads = jax.value_and_grad(loss_fn)(local, x, y)
        loss = jax.lax.pmean(loss, "data")
        if stage == 0:  # plain data parallelism: one all-reduce, every device updates everything
            updates, opt_state = tx.update(jax.lax.pmean(grads, "data"), opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss
        grads = jax.tree.map(lambda g, s: _reduce_scatter_mean(g, s, ranks), grads, specs)
        mine = jax.tree.map(lambda a, s: _own_slice(a, s, ranks), params, specs)
        updates, opt_state = tx.update(grads, opt_state, mine)
        mine = optax.apply_updates(mine, updates)
        params = jax.tree.map(lambda a, s: _gather(a, s, to="invarying"), mine, specs)
        return (params, opt_state), loss

    return step


def _shard_map_step(config: ZeROConfig, mesh, tx, state_specs, sharded_specs):
    n = config.devices
    if config.stage == 3:
        step = _zero3_shard_map_step(tx, sharded_specs, n)
    else:
        step = _zero012_shard_map_step(tx, sharded_specs, n, config.stage)
    return jax.jit(jax.shard_map(step, mesh=mesh, in_specs=(state_specs, P("data"), P("data")),
                                 out_specs=(state_specs, P())))  # fmt: skip


def zero_plan(config: ZeROConfig, devices: Sequence, host_params) -> Plan:
    """Place parameters and optimizer state with the stage's shardings; build the step.

    ``step_style="jit"``: the single-device step under ``jax.jit`` with shardings (the compiler
    chooses the collectives); ``"shard_map"``: per-device code with the collectives of the ZeRO
    paper written out (reduce-scatter, all-gather; stage 3 gathers the weights once per step
    and keeps them for the backward pass, see the module docstring).
    """
    mesh = make_mesh(devices, ("data",))
    tx = make_optimizer(config.optimizer, config.learning_rate)
    param_specs, opt_specs, grad_specs = zero_specs(config.stage, host_params, tx, config.devices)
    state_shardings = (named(mesh, param_specs), named(mesh, opt_specs))
    grad_shardings = named(mesh, grad_specs)
    params = jax.device_put(host_params, state_shardings[0])
    state = (params, jax.device_put(tx.init(host_params), state_shardings[1]))
    batch, replicated = named(mesh, P("data")), named(mesh, P())
    if config.step_style == "shard_map":
        sharded = jax.tree.map(lambda a: zero_spec(np.shape(a), config.devices), host_params)
        step = _shard_map_step(config, mesh, tx, (param_specs, opt_specs), sharded)
    else:
        step = jax.jit(
            _zero_step(tx, grad_shardings),
            in_shardings=(state_shardings, batch, batch),
            out_shardings=(state_shardings, replicated),
        )
    grad_step = jax.jit(
        lambda s, x, y: jax.grad(loss_fn)(s[0], x, y),
        in_shardings=(state_shardings, batch, batch),
        out_shardings=grad_shardings,
    )
    return Plan(
        step=step,
        state=state,
        batch=lambda x, y: (jax.device_put(x, batch), jax.device_put(y, batch)),
        params_of=lambda s: to_host(s[0]),
        grad_step=grad_step,
    )


def zero_collectives(
    stage: int, param_shapes: Sequence[tuple[int, ...]], ranks: int, step_style: str = "jit"
) -> list:
    """The collectives one step runs on CPU, per device, derived in the module docstring.

    Args:
        stage: 0-3.
        param_shapes: the shape of every parameter array.
        ranks: N, the data-parallel devices.
        step_style: "jit" (the compiler's collectives) or "shard_map" (written out).

    Returns:
        Rows ``{kind, bytes, count, group_size, what}`` (``strategy.collective``).
    """
    sizes = [4 * int(np.prod(s)) for s in param_shapes]
    sharded = [(s, b) for s, b in zip(param_shapes, sizes, strict=True)
               if zero_spec(s, ranks) != P()]  # fmt: skip
    whole = sum(sizes) - sum(b for _, b in sharded)
    if stage == 0 or step_style == "jit":
        rows = [collective("all-reduce", sum(sizes) + 4, ranks, "every gradient (and the loss)")]
    else:
        rows = [collective("all-reduce", whole + 4, ranks, "gradients of whole arrays, loss")]
        rows += [collective("reduce-scatter", b, ranks, f"gradient {list(s)}") for s, b in sharded]
    if stage >= 1:
        when = "before the forward pass" if stage >= 3 else "after the update"
        rows += [collective("all-gather", b // ranks, ranks, f"{list(s)} {when}")
                 for s, b in sharded]  # fmt: skip
    return rows


def train_zero(
    config: ZeROConfig, *, devices: Sequence | None = None, progress: bool = False
) -> StrategyReport:
    """Train with ZeRO ``config.stage``; measure memory per device and list the collectives.

    Args:
        config: stage, data-parallel devices, network, optimizer (Adam by default).
        devices: the devices (default ``request_devices(config.devices)``).
        progress: show a progress bar.

    Returns:
        A ``StrategyReport``; ``extras`` holds ``memory_model`` and the arrays left replicated.

    Example:
        >>> train_zero(ZeROConfig(stage=3, steps=10)).memory.optimizer_state  # doctest: +SKIP
    """
    devices = request_devices(config.devices) if devices is None else list(devices)
    if len(devices) != config.devices:
        raise ConfigError(
            f"config asks for {config.devices} devices but {len(devices)} were given; pass "
            f"{config.devices} devices or set devices={len(devices)}"
        )
    data, batches, host = setup(config)
    plan = zero_plan(config, devices, host)
    report, compiled, state = finish(config, plan, batches, data, progress=progress)
    grads = plan.grad_step(state, *plan.batch(*batches[0]))  # measured once, as kept
    shapes = [np.shape(a) for a in jax.tree.leaves(host)]
    n, s = config.devices, config.stage
    replicated = [list(sh) for sh in shapes if zero_spec(sh, n) == P()]
    model = memory_model(
        param_count(host), param_shards=n if s >= 3 else 1, grad_shards=n if s >= 2 else 1,
        optimizer_shards=n if s >= 1 else 1,
        optimizer_bytes_per_param=8.0 if config.optimizer == "adam" else 0.0,
    )  # fmt: skip
    return dataclasses.replace(
        report,
        analytic=tuple(zero_collectives(s, shapes, n, config.step_style)),
        memory=measure_memory(state[0], state[1], compiled, grads),
        extras={"memory_model": model, "replicated_arrays": replicated},
    )
