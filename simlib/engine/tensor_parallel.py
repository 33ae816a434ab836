"""Tensor parallelism: Megatron-LM's column- and row-parallel MLP on a ('data', 'model') mesh.

The network's layers are taken in pairs (blocks). In block k the first weight is split by
columns and the second by rows over the ``m`` devices of the 'model' axis
(Shoeybi et al. 2019, "Megatron-LM", section 3):

    Z = relu(X W1 + b1)    X[B_d, D_in] whole on every device, W1[D_in, H/m]: no communication
    Y = Z W2 + b2          W2[H/m, D_out] gives a partial sum on each device; one all-reduce
                           over 'model' adds the m partial sums: Y[B_d, D_out] whole again

so the forward pass of a block costs one all-reduce of ``B_d x D_out`` values. In the backward
pass the gradient with respect to X is also a sum of m partial products (Megatron's "f"
operator): one all-reduce of ``B_d x D_in`` values per block, except for the first block,
whose input is the data and needs no gradient. JAX derives both: ``psum`` is written once in the
forward pass, and autodiff of the implicit broadcast of X inserts the backward all-reduce.

The 'data' axis is plain data parallelism on top: each row of the mesh gets ``B/d`` examples,
and the gradients of every device's weight shard are averaged over 'data' (one all-reduce).

Analytic communication per step and device (float32, 4 bytes; ``tp_collectives``):

    forward   all-reduce over m:  4 B_d D_out(k)             for each block k
    backward  all-reduce over m:  4 B_d D_in(k)              for each block k > 1
    gradients all-reduce over d:  4 (shard parameters + 1)   (the loss rides along)

Example:
    >>> report = train_tensor_parallel(TPConfig(data=2, model=4))   # doctest: +SKIP
    >>> report.final_loss                                            # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax
from jax.sharding import PartitionSpec as P

from simlib.engine.devices import make_mesh, request_devices
from simlib.engine.memory import measure_memory, memory_model
from simlib.engine.model import param_count
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
    "TP_AXES",
    "TPConfig",
    "tp_collectives",
    "tp_logits",
    "tp_specs",
    "train_tensor_parallel",
]

TP_AXES = ("data", "model")


@dataclass(frozen=True)
class TPConfig(TrainSettings):
    """Data x tensor parallelism on a ``data x model`` mesh (``data * model`` devices)."""

    data: int = 2
    model: int = 4

    def __post_init__(self):
        super().__post_init__()
        check_positive("data", self.data, integer=True)
        check_positive("model", self.model, integer=True)
        if self.num_layers % 2:
            raise ConfigError(
                f"tensor parallelism pairs layers (column-, then row-parallel) but hidden="
                f"{','.join(map(str, self.hidden))} gives {self.num_layers} layers; use an odd "
                "number of hidden widths, e.g. 128 or 128,128,128"
            )
        for width in self.hidden[::2]:
            check_divisible("hidden width", width, self.model, "model")
        check_divisible("batch", self.batch_size, self.data, "data")

    style = property(lambda self: "tp")
    devices = property(lambda self: self.data * self.model)
    microbatches = property(lambda self: 1)


def tp_specs(num_layers: int) -> list[dict]:
    """Partition specs: column layers ``W[D_in, H/m]``, ``b[H/m]``; row layers ``W[H/m, D_out]``
    and a replicated ``b[D_out]`` (added once, after the all-reduce)."""
    specs = []
    for i in range(num_layers):
        if i % 2 == 0:
            specs.append({"w": P(None, "model"), "b": P("model")})
        else:
            specs.append({"w": P("model", None), "b": P()})
    return specs


def tp_logits(params, x: jax.Array) -> jax.Array:
    """Per-device forward pass (inside ``shard_map``): logits ``[B_d, C]`` for ``x[B_d, D_in]``.

    ``params`` holds this device's shards (``tp_specs``); every block ends in one ``psum``.
    """
    for i in range(0, len(params), 2):
        col, row = params[i], params[i + 1]
        assert col["w"].shape[1] == row["w"].shape[0], "column and row shards must match"
        z = jax.nn.relu(x @ col["w"] + col["b"])  # Z[B_d, H/m]: this device's columns
        x = jax.lax.psum(z @ row["w"], "model") + row["b"]  # Y[B_d, D_out]: the all-reduce
        if i + 2 < len(params):
            x = jax.nn.relu(x)
    return x


def _tp_loss(params, x, y):
    logp = jax.nn.log_softmax(tp_logits(params, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def _tp_step(tx: optax.GradientTransformation):
    def step(state, x, y):  # per device: shards of params/opt state, x[B_d, D_in], y[B_d]
        params, opt_state = state
        local = jax.lax.pcast(params, "data", to="varying")  # else grad is pre-summed (pitfall)
        loss, grads = jax.value_and_grad(_tp_loss)(local, x, y)
        grads = jax.lax.pmean(grads, "data")
        loss = jax.lax.pmean(loss, "data")
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    return step


def tp_plan(config: TPConfig, devices: Sequence, host_params) -> Plan:
    """Place ``host_params`` (single-device layout) on the mesh and build the step."""
    mesh = make_mesh(devices, TP_AXES, (config.data, config.model))
    tx = make_optimizer(config.optimizer, config.learning_rate)
    param_specs = tp_specs(len(host_params))
    opt_specs = optimizer_specs(tx, tx.init(host_params), param_specs)
    state_specs = (param_specs, opt_specs)
    params = jax.device_put(host_params, named(mesh, param_specs))
    state = (params, jax.device_put(tx.init(host_params), named(mesh, opt_specs)))
    mapped = jax.shard_map(
        _tp_step(tx), mesh=mesh, in_specs=(state_specs, P("data"), P("data")),
        out_specs=(state_specs, P()),
    )  # fmt: skip
    batch = named(mesh, P("data"))
    return Plan(
        step=jax.jit(mapped),
        state=state,
        batch=lambda x, y: (jax.device_put(x, batch), jax.device_put(y, batch)),
        params_of=lambda s: to_host(s[0]),
    )


def tp_collectives(layer_sizes: Sequence[int], batch_size: int, data: int, model: int) -> list:
    """The collectives one step must run, per device, derived in the module docstring.

    Args:
        layer_sizes: ``(D_in, H1, D1, H2, ..., C)``, an odd count (pairs of layers).
        batch_size: the global batch B; each data rank holds ``B_d = B / data`` rows.
        data, model: the mesh shape.

    Returns:
        Rows ``{kind, bytes, count, group_size, what}`` (``strategy.collective``).
    """
    rows_per_rank = batch_size // data
    out = []
    shard_values = 0
    for k in range(0, len(layer_sizes) - 1, 2):
        d_in, hidden, d_out = layer_sizes[k], layer_sizes[k + 1], layer_sizes[k + 2]
        block = k // 2 + 1
        what = f"block {block} forward: partial sums of Y[B_d, {d_out}]"
        out.append(collective("all-reduce", 4 * rows_per_rank * d_out, model, what))
        if k > 0:
            what = f"block {block} backward: gradient of X[B_d, {d_in}]"
            out.append(collective("all-reduce", 4 * rows_per_rank * d_in, model, what))
        shard_values += (d_in + 1) * hidden // model + (hidden // model) * d_out + d_out
    what = "gradients of this device's shards (and the loss), mean over data"
    out.append(collective("all-reduce", 4 * (shard_values + 1), data, what))
    return out


def train_tensor_parallel(
    config: TPConfig, *, devices: Sequence | None = None, progress: bool = False
) -> StrategyReport:
    """Train the MLP with data x tensor parallelism; measure memory and list the collectives.

    Args:
        config: mesh shape (``data``, ``model``), network, optimizer, steps, batch.
        devices: ``data * model`` devices (default ``request_devices``), in mesh order.
        progress: show a progress bar.

    Returns:
        A ``StrategyReport`` (losses, host parameters in the single-device layout, HLO,
        ``analytic`` collectives, ``memory`` per device, ``extras["mesh"]``).

    Example:
        >>> train_tensor_parallel(TPConfig(data=2, model=4, steps=10)).losses  # doctest: +SKIP
    """
    devices = request_devices(config.devices) if devices is None else list(devices)
    if len(devices) != config.devices:
        raise ConfigError(
            f"data={config.data} x model={config.model} needs {config.devices} devices but "
            f"{len(devices)} were given; pass that many devices or change the mesh"
        )
    data, batches, host = setup(config)
    plan = tp_plan(config, devices, host)
    report, compiled, state = finish(config, plan, batches, data, progress=progress)
    sizes = config.layer_sizes()
    opt_k = 8.0 if config.optimizer == "adam" else 0.0
    total = param_count(host)
    return dataclasses.replace(
        report,
        analytic=tuple(tp_collectives(sizes, config.batch_size, config.data, config.model)),
        memory=measure_memory(state[0], state[1], compiled),
        extras={"mesh": {"data": config.data, "model": config.model},
                "memory_model": memory_model(total, param_shards=config.model,
                                             grad_shards=config.model,
                                             optimizer_shards=config.model,
                                             optimizer_bytes_per_param=opt_k)},
    )  # fmt: skip
