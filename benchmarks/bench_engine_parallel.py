"""Model-parallel step time: simlib's tensor, pipeline and ZeRO-3 steps vs hand-written JAX.

All train the MLP 784-512-512-512-10 on a global batch of 256 (synthetic data) on 8 devices:
tensor parallelism on a 2 x 4 (data x model) mesh, a 4-stage GPipe pipeline x 2 data replicas
with 4 microbatches, ZeRO-3 over 8 data ranks with Adam. The hand-written steps below are the
textbook JAX versions of the same work, written here from scratch (shard_map + psum for the
Megatron block, a scan of ppermutes for the pipeline, jit + NamedSharding for ZeRO-3); simlib's
numbers are the per-step wall times its own training loop records. Each round runs the hand-written
loop, simlib's, and the hand-written again, so the machine's noise falls evenly on both; the
first steps of every loop are dropped (warm-up after compiling); the figure is the median over
rounds of each round's ratio of medians (target <= 1.05). The single-device step on the whole
batch is timed in the same run, for scale.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("JAX_NUM_CPU_DEVICES", "8")

STEPS, ROUNDS, BATCH, HIDDEN = 40, 6, 256, (512, 512, 512)
WARMUP = 8  # steps dropped from every timed loop: the first steps after a compile run slower
SIZES = (784, *HIDDEN, 10)


def _loop(step, state, batches) -> list[float]:
    """Run ``step`` on every batch, blocking on the loss each time; per-step wall times."""
    times = []
    for x, y in batches:
        start = time.perf_counter()
        state, loss = step(state, x, y)
        float(loss)
        times.append(time.perf_counter() - start)
    return times[WARMUP:]


def _cross_entropy(logits, y):
    import jax
    import jax.numpy as jnp

    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def _host(steps):
    import jax
    import numpy as np

    from simlib.engine import global_batches, init_mlp, synthetic

    params = jax.tree.map(np.asarray, init_mlp(jax.random.key(0), SIZES))
    return params, global_batches(synthetic(seed=0), BATCH, steps)


def hand_tp(devices, steps):
    """Megatron MLP by hand: W1 by columns, W2 by rows, one psum per pair, mean over data."""
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    mesh = Mesh(np.array(devices).reshape(2, 4), ("data", "model"))
    specs = [{"w": P(None, "model"), "b": P("model")}, {"w": P("model", None), "b": P()}] * 2

    def loss(params, x, y):
        for i in (0, 2):
            h = jax.nn.relu(x @ params[i]["w"] + params[i]["b"])
            x = jax.lax.psum(h @ params[i + 1]["w"], "model") + params[i + 1]["b"]
            x = jax.nn.relu(x) if i == 0 else x
        return _cross_entropy(x, y)

    def step(params, x, y):
        value, grads = jax.value_and_grad(loss)(jax.lax.pcast(params, "data", to="varying"), x, y)
        grads, value = jax.lax.pmean((grads, value), "data")
        return jax.tree.map(lambda p, g: p - 0.1 * g, params, grads), value

    fn = jax.jit(jax.shard_map(step, mesh=mesh, in_specs=(specs, P("data"), P("data")),
                               out_specs=(specs, P())))  # fmt: skip
    host, batches = _host(steps)
    is_spec = lambda s: isinstance(s, P)
    shard = jax.tree.map(lambda s: NamedSharding(mesh, s), specs, is_leaf=is_spec)
    split = NamedSharding(mesh, P("data"))
    return fn, jax.device_put(host, shard), [jax.device_put(b, split) for b in batches]


def hand_pp(devices, steps, microbatches=4):
    """GPipe by hand: a scan over M + S - 1 ticks, ppermute to the next stage, autodiff back."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    mesh = Mesh(np.array(devices).reshape(2, 4), ("data", "stage"))
    width, stages = max(SIZES), 4
    host, batches = _host(steps)
    w = np.zeros((stages, width, width), np.float32)
    b = np.zeros((stages, width), np.float32)
    for s, layer in enumerate(host):
        w[s, : layer["w"].shape[0], : layer["w"].shape[1]] = layer["w"]
        b[s, : layer["b"].shape[0]] = layer["b"]

    def loss(params, x, y):
        wi, bi, me = params["w"][0, 0], params["b"][0, 0], jax.lax.axis_index("stage")
        xs = jnp.pad(x, ((0, 0), (0, width - x.shape[1]))).reshape(microbatches, -1, width)

        def tick(carry, t):
            h = jnp.where(me == 0, xs[jnp.minimum(t, microbatches - 1)], carry) @ wi + bi
            h = jnp.where(me == stages - 1, h, jax.nn.relu(h))
            return jax.lax.ppermute(h, "stage", [(i, i + 1) for i in range(stages - 1)]), h

        init = jax.lax.pcast(jnp.zeros_like(xs[0]), "stage", to="varying")
        _, outs = jax.lax.scan(tick, init, jnp.arange(microbatches + stages - 1))
        value = _cross_entropy(outs[stages - 1 :].reshape(x.shape[0], width)[:, :10], y)
        return jax.lax.psum(jnp.where(me == stages - 1, value, 0.0), "stage")

    def step(params, x, y):
        value, grads = jax.value_and_grad(loss)(jax.lax.pcast(params, "data", to="varying"), x, y)
        grads, value = jax.lax.pmean((grads, value), "data")
        return jax.tree.map(lambda p, g: p - 0.1 * g, params, grads), value

    specs = {"w": P("stage"), "b": P("stage")}
    fn = jax.jit(jax.shard_map(step, mesh=mesh, in_specs=(specs, P("data"), P("data")),
                               out_specs=(specs, P())))  # fmt: skip
    params = {"w": w[:, None], "b": b[:, None]}  # [S, 1 layer, D, D]: one layer per stage
    params = jax.device_put(params, NamedSharding(mesh, P("stage")))
    split = NamedSharding(mesh, P("data"))
    return fn, params, [jax.device_put(bt, split) for bt in batches]


def hand_zero3(devices, steps):
    """ZeRO-3 by hand: every array and both Adam moments split over 'data'; jit does the rest."""
    import jax
    import numpy as np
    import optax
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    from simlib.engine import loss_fn

    mesh = Mesh(np.array(devices), ("data",))
    host, batches = _host(steps)

    def spec(a):  # the largest dimension 8 divides, as the ZeRO-3 lesson does
        dims = [d for d in range(a.ndim) if a.shape[d] % 8 == 0]
        if not dims:
            return NamedSharding(mesh, P())
        best = max(dims, key=lambda d: (a.shape[d], -d))
        return NamedSharding(mesh, P(*["data" if d == best else None for d in range(a.ndim)]))

    tx = optax.adam(0.01)
    param_sh = jax.tree.map(spec, host)
    opt_sh = jax.tree.map(lambda a: spec(a) if np.ndim(a) else NamedSharding(mesh, P()),
                          tx.init(host))  # fmt: skip

    def step(state, x, y):
        params, opt = state
        value, grads = jax.value_and_grad(loss_fn)(params, x, y)
        grads = jax.lax.with_sharding_constraint(grads, param_sh)
        updates, opt = tx.update(grads, opt, params)
        return (optax.apply_updates(params, updates), opt), value

    split, rep = NamedSharding(mesh, P("data")), NamedSharding(mesh, P())
    fn = jax.jit(step, in_shardings=((param_sh, opt_sh), split, split),
                 out_shardings=((param_sh, opt_sh), rep))  # fmt: skip
    state = (jax.device_put(host, param_sh), jax.device_put(tx.init(host), opt_sh))
    return fn, state, [jax.device_put(bt, split) for bt in batches]


def single_device(device, steps):
    import jax

    from simlib.engine import loss_fn

    @jax.jit
    def step(params, x, y):
        value, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return jax.tree.map(lambda p, g: p - 0.1 * g, params, grads), value

    host, batches = _host(steps)
    return step, jax.device_put(host, device), [jax.device_put(b, device) for b in batches]


def simlib_step_seconds(name: str, steps: int) -> list[float]:
    from simlib.engine import (
        PPConfig,
        TPConfig,
        ZeROConfig,
        train_pipeline,
        train_tensor_parallel,
        train_zero,
    )

    common = {"steps": steps, "batch_size": BATCH, "hidden": HIDDEN, "dataset": "synthetic"}
    if name == "tp":
        report = train_tensor_parallel(TPConfig(data=2, model=4, **common))
    elif name == "pp":
        report = train_pipeline(PPConfig(stages=4, data=2, microbatches=4, **common), measure=False)
    else:
        report = train_zero(ZeROConfig(stage=3, devices=8, **common))
    assert report.compiles_during_steps == 0
    return list(report.step_seconds[WARMUP:])


LABELS = {"tp": "tensor parallel 2x4", "pp": "pipeline 4 stages x 2 data, M=4",
          "zero3": "ZeRO-3 over 8, Adam"}  # fmt: skip


def main() -> list[dict]:
    from simlib.engine import request_devices

    devices = request_devices(8)
    hand = {"tp": hand_tp(devices, STEPS), "pp": hand_pp(devices, STEPS),
            "zero3": hand_zero3(devices, STEPS)}  # fmt: skip
    one = single_device(devices[0], STEPS)
    times = {k: {"hand": [], "simlib": [], "ratios": []} for k in hand}
    single = []
    for _ in range(ROUNDS):  # hand, simlib, hand: each simlib run sits between two baselines
        single += _loop(*one)
        for name, (fn, state, batches) in hand.items():
            before = _loop(fn, state, batches)
            ours = simlib_step_seconds(name, STEPS)
            around = before + _loop(fn, state, batches)
            times[name]["hand"] += around
            times[name]["simlib"] += ours
            times[name]["ratios"].append(statistics.median(ours) / statistics.median(around))
    base_single = statistics.median(single)
    rows = []
    for name, t in times.items():
        ours, theirs = statistics.median(t["simlib"]), statistics.median(t["hand"])
        # The figure is the median over rounds of each round's ratio: a slow spell of the shared
        # machine then moves one round's pair together instead of one side of the pooled medians.
        row = _row(f"{LABELS[name]} step (simlib vs hand-written)", ours, theirs, 1.05)
        row["ratio"] = statistics.median(t["ratios"])
        row["ok"] = row["ratio"] <= 1.05
        rows.append(row)
        rows.append(_row(f"{LABELS[name]} step (vs one device, whole batch)", ours, base_single,
                         None))  # fmt: skip
    return rows


def _row(name, value, baseline, target):
    ratio = value / baseline
    return {"name": name, "value": value, "baseline": baseline, "ratio": ratio, "unit": "s",
            "target": target, "ok": target is None or ratio <= target}  # fmt: skip


if __name__ == "__main__":
    for row in main():
        print(row)
