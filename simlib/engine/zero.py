"""ZeRO / FSDP: parameters, gradients and optimizer state sharded over the data axis.

Plain data parallelism keeps a full copy of everything on each of the ``N`` devices: parameters
(4 bytes each in float32), gradients (4) and Adam's two moments (8). ZeRO (Rajbhandari et al.,
SC 2020) removes the copies stage by stage; each device keeps ``1/N`` of

    stage 1: the optimizer state        stage 2: + the gradients        stage 3: + the parameters

Here the training step is the single-device code under ``jax.jit``; only the shardings change
(``zero_spec``: each array is split over 'data' along its largest dimension that ``N``
divides; an array no dimension of which ``N`` divides stays replicated, the "padding" of this
scheme). The compiler inserts the communication that the shardings imply:

- stage 3: every sharded parameter is all-gathered before the forward pass (XLA keeps the
  gathered copy for the backward pass inside the one fused step);
- stages 1 and 2: the updated parameter shards are all-gathered after the update;
- every stage: the gradients are summed over the data axis. XLA's CPU compiler does that with
  one all-reduce and each device then keeps its slice; XLA's GPU compiler rewrites an all-reduce
  followed by a slice into a reduce-scatter (its ``ReduceScatterCreator`` pass), which CPU lacks.

Analytic communication per step and device on CPU (``zero_collectives``; P = parameters):

    all-reduce over N:   4 P + 4                   (every gradient, plus the loss)
    all-gather over N:   4 size(a) / N  per array a that is sharded       (stages 1, 2, 3)

so with the ring algorithm a device sends ``2 (N-1)/N 4P`` under stage 0 and ``3 (N-1)/N 4P``
under stages 1-3 (ZeRO's paper: 1x for stages 1-2 with a reduce-scatter, 1.5x for stage 3).

Example:
    >>> report = train_zero(ZeROConfig(stage=3, devices=8))   # doctest: +SKIP
    >>> report.memory.parameters                              # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import jax
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

__all__ = ["ZERO_STAGES", "ZeROConfig", "train_zero", "zero_collectives", "zero_spec", "zero_specs"]

ZERO_STAGES = (0, 1, 2, 3)


@dataclass(frozen=True)
class ZeROConfig(TrainSettings):
    """ZeRO ``stage`` (0 = plain data parallelism) over ``devices`` data-parallel ranks."""

    learning_rate: float = 0.01
    optimizer: str = "adam"
    stage: int = 3
    devices: int = 8

    def __post_init__(self):
        super().__post_init__()
        if self.stage not in ZERO_STAGES:
            raise ConfigError(
                f"stage must be 0 (plain data parallelism), 1, 2 or 3, got {self.stage!r}"
            )
        check_positive("devices", self.devices, integer=True)
        check_divisible("batch", self.batch_size, self.devices, "devices")

    style = property(lambda self: f"zero{self.stage}")
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


def zero_plan(config: ZeROConfig, devices: Sequence, host_params) -> Plan:
    """Place parameters and optimizer state with the stage's shardings; build the jit step."""
    mesh = make_mesh(devices, ("data",))
    tx = make_optimizer(config.optimizer, config.learning_rate)
    param_specs, opt_specs, grad_specs = zero_specs(config.stage, host_params, tx, config.devices)
    state_shardings = (named(mesh, param_specs), named(mesh, opt_specs))
    grad_shardings = named(mesh, grad_specs)
    params = jax.device_put(host_params, state_shardings[0])
    state = (params, jax.device_put(tx.init(host_params), state_shardings[1]))
    batch, replicated = named(mesh, P("data")), named(mesh, P())
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


def zero_collectives(stage: int, param_shapes: Sequence[tuple[int, ...]], ranks: int) -> list:
    """The collectives one step runs on CPU, per device, derived in the module docstring.

    Args:
        stage: 0-3.
        param_shapes: the shape of every parameter array.
        ranks: N, the data-parallel devices.

    Returns:
        Rows ``{kind, bytes, count, group_size, what}`` (``strategy.collective``).
    """
    total = sum(4 * int(np.prod(s)) for s in param_shapes)
    rows = [collective("all-reduce", total + 4, ranks, "every gradient (and the loss), summed")]
    if stage >= 1:
        when = "before the forward pass" if stage >= 3 else "after the update"
        for shape in param_shapes:
            if zero_spec(shape, ranks) != P():
                nbytes = 4 * int(np.prod(shape)) // ranks
                rows.append(collective("all-gather", nbytes, ranks, f"{list(shape)} {when}"))
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
        raise ConfigError(f"config asks for {config.devices} devices but {len(devices)} were given")
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
        analytic=tuple(zero_collectives(s, shapes, n)),
        memory=measure_memory(state[0], state[1], compiled, grads),
        extras={"memory_model": model, "replicated_arrays": replicated},
    )
