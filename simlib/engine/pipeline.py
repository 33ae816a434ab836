"""Pipeline parallelism: the network's layers cut into stages, microbatches passed with ppermute.

The ``L`` layers are split into ``S`` stages of ``L/S`` consecutive layers; stage ``s`` lives on
the devices of mesh column ``s`` ('stage' axis). A batch is cut into ``M`` microbatches of
``mb = B_d / M`` rows. GPipe's schedule (Huang et al. 2019) runs in ``M + S - 1`` ticks: at tick
``t`` stage ``s`` applies its layers to microbatch ``t - s`` (if ``0 <= t - s < M``) and sends
the result to stage ``s + 1`` with one ``ppermute``; it is a ``lax.scan`` over ticks inside
``shard_map``. The backward pass is autodiff of that scan: the same ticks in reverse, each
``ppermute`` transposed into one that sends the gradient back to stage ``s - 1``. A stage with no
microbatch at a tick still computes (on a repeated or passed-on input whose result is thrown
away, since every stage runs the same program): that wasted work is the bubble, a fraction

    (S - 1) / (M + S - 1)       of every device's time (GPipe; ``simlib.sim.pipeline_cost``).

SPMD needs one program for all stages, so every stage holds arrays of the same shape: the
weights of a stage are stacked as ``W[L/S, D, D]``, ``b[L/S, D]`` with ``D`` the widest layer, and
narrower layers are zero-padded. The padding is exact (padded inputs are 0, padded weights get
zero gradient and stay 0) and costs memory, which ``memory_per_device`` shows.

A 'data' axis in front gives data x pipeline parallelism: gradients averaged over 'data'.

Analytic communication per step and device (float32; ``pp_collectives``):

    forward   collective-permute  4 mb D   x (M + S - 1) ticks
    backward  collective-permute  4 mb D   x (M + S - 1) ticks
    loss      all-reduce over S:  4        (the last stage's loss, shared with every stage)
    gradients all-reduce over d:  4 (L/S (D^2 + D) + 1)   (this stage's weights, and the loss)

Example:
    >>> report = train_pipeline(PPConfig(stages=4, data=2, microbatches=4))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
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
    "PP_AXES",
    "PP_SCHEDULES",
    "PPConfig",
    "gpipe_ticks",
    "measure_bubble",
    "pp_collectives",
    "program_bubble",
    "stack_stages",
    "train_pipeline",
    "unstack_stages",
]

PP_AXES = ("data", "stage")
PP_SCHEDULES = ("gpipe",)


@dataclass(frozen=True)
class PPConfig(TrainSettings):
    """``stages`` pipeline stages x ``data`` replicas; ``microbatches`` per data rank's batch."""

    stages: int = 4
    data: int = 2
    microbatches: int = 4
    schedule: str = "gpipe"

    def __post_init__(self):
        super().__post_init__()
        for name in ("stages", "data", "microbatches"):
            check_positive(name, getattr(self, name), integer=True)
        if self.schedule not in PP_SCHEDULES:
            raise ConfigError(f"schedule must be one of {', '.join(PP_SCHEDULES)}, got "
                              f"{self.schedule!r}")  # fmt: skip
        hidden = ",".join(map(str, self.hidden))
        if self.stages > self.num_layers:
            raise ConfigError(
                f"stages={self.stages} is more than the {self.num_layers} layers of hidden="
                f"{hidden}; use at most {self.num_layers} stages or add hidden layers"
            )
        if self.num_layers % self.stages:
            raise ConfigError(
                f"the {self.num_layers} layers of hidden={hidden} do not split evenly into "
                f"stages={self.stages}; use a number of stages that divides {self.num_layers}"
            )
        check_divisible("batch", self.batch_size, self.data, "data")
        check_divisible("batch per data rank", self.batch_size // self.data, self.microbatches,
                        "microbatches")  # fmt: skip

    style = property(lambda self: "pp")
    devices = property(lambda self: self.data * self.stages)
    width = property(lambda self: max(self.layer_sizes()))


def stack_stages(params, stages: int) -> dict[str, np.ndarray]:
    """Single-device layers -> ``{"w": W[S, L/S, D, D], "b": b[S, L/S, D]}``, zero-padded to D."""
    width = max(max(np.shape(layer["w"])) for layer in params)
    per = len(params) // stages
    w = np.zeros((stages, per, width, width), np.float32)
    b = np.zeros((stages, per, width), np.float32)
    for i, layer in enumerate(params):
        d_in, d_out = np.shape(layer["w"])
        w[i // per, i % per, :d_in, :d_out] = layer["w"]
        b[i // per, i % per, :d_out] = layer["b"]
    return {"w": w, "b": b}


def unstack_stages(stacked, layer_sizes: Sequence[int]) -> list[dict[str, np.ndarray]]:
    """Inverse of ``stack_stages``: the single-device layers, padding cut away."""
    w, b = np.asarray(stacked["w"]), np.asarray(stacked["b"])
    per = w.shape[1]
    out = []
    for i, (d_in, d_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:], strict=True)):
        out.append({"w": w[i // per, i % per, :d_in, :d_out], "b": b[i // per, i % per, :d_out]})
    return out


def _stage_apply(w, b, h, is_last_stage):
    """This stage's layers on ``h[mb, D]``: ReLU after each, except the network's last layer."""
    for layer in range(w.shape[0]):
        h = h @ w[layer] + b[layer]
        if layer + 1 < w.shape[0]:
            h = jax.nn.relu(h)
    return jnp.where(is_last_stage, h, jax.nn.relu(h))


def _pipeline_outputs(w, b, xs, stages: int):
    """GPipe forward: ``xs[M, mb, D]`` in, ``ys[M, mb, D]`` out (meaningful on the last stage).

    Per device: ``w[L/S, D, D]``, ``b[L/S, D]`` of this stage.
    """
    num_micro = xs.shape[0]
    stage = jax.lax.axis_index("stage")
    forward = [(i, i + 1) for i in range(stages - 1)]  # stage s sends to s + 1

    def tick(received, t):
        inp = jnp.where(stage == 0, xs[jnp.minimum(t, num_micro - 1)], received)
        out = _stage_apply(w, b, inp, stage == stages - 1)
        return jax.lax.ppermute(out, "stage", forward), out

    start = jax.lax.pcast(jnp.zeros_like(xs[0]), "stage", to="varying")
    _, outs = jax.lax.scan(tick, start, jnp.arange(num_micro + stages - 1))
    return outs[stages - 1 :]  # the last stage finishes microbatch t - (S - 1) at tick t


def _pp_loss(params, x, y, *, stages: int, microbatches: int, classes: int):
    w, b = params["w"][0], params["b"][0]  # this stage: W[L/S, D, D], b[L/S, D]
    rows, width = x.shape[0], w.shape[-1]
    x = jnp.pad(x, ((0, 0), (0, width - x.shape[1])))  # x[B_d, D]
    outs = _pipeline_outputs(w, b, x.reshape(microbatches, rows // microbatches, width), stages)
    logits = outs.reshape(rows, width)[:, :classes]  # [B_d, C], microbatches back in row order
    logp = jax.nn.log_softmax(logits)
    loss = -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
    last = jax.lax.axis_index("stage") == stages - 1
    return jax.lax.psum(jnp.where(last, loss, 0.0), "stage")  # the last stage's loss, everywhere


def _pp_step(tx, **shape):
    def step(state, x, y):  # per device: this stage's weights, x[B_d, D_in], y[B_d]
        params, opt_state = state
        local = jax.lax.pcast(params, "data", to="varying")  # else grad is pre-summed (pitfall)
        loss, grads = jax.value_and_grad(_pp_loss)(local, x, y, **shape)
        grads = jax.lax.pmean(grads, "data")
        loss = jax.lax.pmean(loss, "data")
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    return step


def pp_plan(config: PPConfig, devices: Sequence, host_params, microbatches=None) -> Plan:
    """Stack and place the stages on the ('data', 'stage') mesh; build the shard_map step."""
    mesh = make_mesh(devices, PP_AXES, (config.data, config.stages))
    tx = make_optimizer(config.optimizer, config.learning_rate)
    stacked = stack_stages(host_params, config.stages)
    param_specs = {"w": P("stage"), "b": P("stage")}
    state_specs = (param_specs, optimizer_specs(tx, tx.init(stacked), param_specs))
    state = jax.device_put((stacked, tx.init(stacked)), named(mesh, state_specs))
    shape = {"stages": config.stages, "microbatches": microbatches or config.microbatches,
             "classes": config.layer_sizes()[-1]}  # fmt: skip
    mapped = jax.shard_map(
        _pp_step(tx, **shape), mesh=mesh, in_specs=(state_specs, P("data"), P("data")),
        out_specs=(state_specs, P()),
    )  # fmt: skip
    batch = named(mesh, P("data"))
    sizes = config.layer_sizes()
    return Plan(
        step=jax.jit(mapped),
        state=state,
        batch=lambda x, y: (jax.device_put(x, batch), jax.device_put(y, batch)),
        params_of=lambda s: unstack_stages(to_host(s[0]), sizes),
    )


def pp_collectives(config: PPConfig) -> list:
    """The collectives one step runs, per device, derived in the module docstring.

    A collective-permute's group is every device named in its source-target pairs (the whole
    mesh), as ``simlib.engine.comms`` counts it.
    """
    s, m, width = config.stages, config.microbatches, config.width
    mb = config.batch_size // config.data // m
    ticks = m + s - 1
    per_stage = config.num_layers // s * (width * width + width)
    everyone = config.data * s
    permutes = [] if s == 1 else [  # one stage: each device "sends" to itself, nothing moves
        collective("collective-permute", 4 * mb * width, everyone,
                   f"forward: activations [{mb}, {width}] to the next stage", ticks),
        collective("collective-permute", 4 * mb * width, everyone,
                   "backward: their gradients to the previous stage", ticks),
    ]  # fmt: skip
    return [
        *permutes,
        collective("all-reduce", 4, s, "the last stage's loss to every stage"),
        collective("all-reduce", 4 * (per_stage + 1), config.data,
                   "this stage's gradients (and the loss), mean over data"),
    ]  # fmt: skip


def gpipe_ticks(stages: int, microbatches: int) -> np.ndarray:
    """Which microbatch each stage works on at each tick: ``T[S, 2 (M + S - 1)]``, -1 = idle.

    Forward ticks first (stage s, tick t: microbatch t - s), then the backward ticks that
    autodiff runs in reverse order. The idle share of this array is the bubble.
    """
    ticks = microbatches + stages - 1
    fwd = np.full((stages, ticks), -1)
    for s in range(stages):
        fwd[s, s : s + microbatches] = np.arange(microbatches)
    return np.concatenate([fwd, fwd[:, ::-1]], axis=1)


def program_bubble(hlo_text: str, microbatches: int) -> dict:
    r"""The bubble counted in the compiled program: its ticks, not its wall-clock time.

    Every tick of the forward scan runs one ``collective-permute`` (the activations to the next
    stage) and so does every tick of the backward scan (their gradients back), so the number of
    permute executions per step (while-loop trip counts applied, ``simlib.engine.comms``) is the
    number of ticks a stage runs. ``2 M`` of them carry a microbatch (each one forward, once
    backward); the rest are idle, and their share is the bubble. For GPipe that is
    ``1 - 2M / (2 (M + S - 1)) = (S - 1)/(M + S - 1)``, exactly the formula, whatever the load
    of the machine. With one stage a device only "sends" to itself (a group of one, not
    counted) and nothing idles: bubble 0.

    Example:
        >>> program_bubble("HloModule m\nENTRY %main () -> f32[] {\n}", microbatches=4)
        {'ticks': 8, 'idle_ticks': 0, 'bubble_fraction_program': 0.0}
    """
    from simlib.engine.comms import collectives

    ticks = sum(c.count for c in collectives(hlo_text)
                if c.kind == "collective-permute" and c.group_size > 1)  # fmt: skip
    ticks = ticks or 2 * microbatches  # one stage: nothing sent, and every tick is useful
    idle = ticks - 2 * microbatches
    return {"ticks": ticks, "idle_ticks": idle, "bubble_fraction_program": idle / ticks}


def _timed(compiled, state, x, y, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _, loss = compiled(state, x, y)
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - start)
    return times


def measure_bubble(config: PPConfig, devices: Sequence, *, repeats: int = 15) -> dict:
    """The bubble measured from step times: ``1 - M t_tick / T(M)``.

    The step is compiled for ``M`` and for ``2M`` microbatches of the same size and both are
    timed, interleaved; each time is the fastest of ``repeats`` runs (noise on a shared machine
    only ever adds time, so the minimum is the cleanest estimate). One more microbatch costs
    one more tick of every stage, so
    ``t_tick = (T(2M) - T(M)) / M`` is the time of the useful work per microbatch, ``M t_tick``
    the useful part of ``T(M)``, and the rest is the bubble: fill and drain ticks plus any fixed
    cost of the step (the optimizer update, launching the program), which GPipe's formula
    ``(S - 1)/(M + S - 1)`` leaves out.

    A wall-clock figure moves with the machine's load (on a busy 2-core machine it has read
    anywhere from -0.31 to 1.00 for one program): show it, benchmark it, never assert on it;
    ``program_bubble`` counts the same bubble from the compiled program.

    Returns:
        ``{"bubble_fraction_measured", "step_seconds", "step_seconds_2m", "tick_seconds"}``.
    """
    _, _, host = setup(dataclasses.replace(config, steps=1))
    rng = np.random.default_rng(config.seed)
    features = config.layer_sizes()[0]
    plans = {}
    for m in (config.microbatches, 2 * config.microbatches):
        plan = pp_plan(config, devices, host, microbatches=m)
        rows = config.batch_size * m // config.microbatches
        x, y = plan.batch(rng.standard_normal((rows, features), dtype=np.float32),
                          np.zeros(rows, np.int32))  # fmt: skip
        plans[m] = (plan.step.lower(plan.state, x, y).compile(), plan.state, x, y)
        _timed(*plans[m], 2)  # warm up
    times = {m: [] for m in plans}
    for _ in range(repeats):
        for m, args in plans.items():
            times[m] += _timed(*args, 1)
    fastest = {m: min(t) for m, t in times.items()}
    m = config.microbatches
    tick = max(fastest[2 * m] - fastest[m], 0.0) / m
    return {
        "bubble_fraction_measured": 1.0 - m * tick / fastest[m],
        "step_seconds": fastest[m],
        "step_seconds_2m": fastest[2 * m],
        "tick_seconds": tick,
    }


def train_pipeline(
    config: PPConfig, *, devices: Sequence | None = None, progress: bool = False,
    measure: bool = True,
) -> StrategyReport:
    """Train the MLP as a GPipe pipeline (x data parallelism); memory, collectives, bubble.

    Args:
        config: stages, data replicas, microbatches, network, optimizer, steps, batch.
        devices: ``data * stages`` devices (default ``request_devices``).
        progress: show a progress bar.
        measure: also time the bubble (``measure_bubble``; compiles the step twice more).

    Returns:
        A ``StrategyReport``; ``extras`` holds the mesh, the bubble (measured, the schedule's,
        and the measurement's step times) and ``memory_model``.

    Example:
        >>> train_pipeline(PPConfig(stages=4, data=2, steps=10)).final_loss  # doctest: +SKIP
    """
    devices = request_devices(config.devices) if devices is None else list(devices)
    if len(devices) != config.devices:
        raise ConfigError(
            f"data={config.data} x stages={config.stages} needs {config.devices} devices but "
            f"{len(devices)} were given; pass that many devices or change the mesh"
        )
    data, batches, host = setup(config)
    plan = pp_plan(config, devices, host)
    report, compiled, state = finish(config, plan, batches, data, progress=progress)
    ticks = gpipe_ticks(config.stages, config.microbatches)
    extras = {
        "mesh": {"data": config.data, "stage": config.stages},
        "bubble_fraction_schedule": float(np.mean(ticks < 0)),
        "bubble_fraction_program": program_bubble(
            compiled.as_text(), config.microbatches)["bubble_fraction_program"],
        "memory_model": memory_model(
            param_count(host), param_shards=config.stages, grad_shards=config.stages,
            optimizer_shards=config.stages,
            optimizer_bytes_per_param=8.0 if config.optimizer == "adam" else 0.0,
        ),
    }  # fmt: skip
    if measure:
        extras.update(measure_bubble(config, devices))
    return dataclasses.replace(
        report, analytic=tuple(pp_collectives(config)),
        memory=measure_memory(state[0], state[1], compiled), extras=extras,
    )  # fmt: skip
