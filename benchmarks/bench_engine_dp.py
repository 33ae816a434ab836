"""Data-parallel step time: simlib's training loop vs a hand-written JAX loop, same run.

Both train the MLP 784-512-512-10 on a global batch of 256 (synthetic data, 784 features) on 8
devices with ``jax.jit`` + ``NamedSharding``. The hand-written step is the plain textbook version;
simlib's numbers are the per-step wall times ``train_data_parallel`` itself records. Rounds
alternate between the two to spread the machine's noise evenly; the figure is the ratio of the
medians (target <= 1.05). Also: compilations during the steps (target 0), and the other styles.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("JAX_NUM_CPU_DEVICES", "8")

STEPS, ROUNDS, BATCH, HIDDEN = 60, 5, 256, (512, 512)


def hand_written_step_seconds(devices, steps: int) -> tuple[list[float], int]:
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    from simlib.engine import CompileCounter, global_batches, init_mlp, loss_fn, synthetic

    mesh = Mesh(np.array(devices), ("data",))
    rep, split = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))

    @jax.jit
    def step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return jax.tree.map(lambda p, g: p - 0.1 * g, params, grads), loss

    data = synthetic(seed=0)
    params = jax.device_put(init_mlp(jax.random.key(0), (784, *HIDDEN, 10)), rep)
    batches = [jax.device_put((x, y), split) for x, y in global_batches(data, BATCH, steps)]
    params, loss = step(params, *batches[0])  # compile and warm up
    loss.block_until_ready()
    times = []
    with CompileCounter() as compiles:
        for x, y in batches:
            start = time.perf_counter()
            params, loss = step(params, x, y)
            float(loss)
            times.append(time.perf_counter() - start)
    return times, compiles.count


def simlib_step_seconds(style: str, steps: int):
    from simlib.engine import DPConfig, train_data_parallel

    cfg = DPConfig(style=style, devices=8, steps=steps, batch_size=BATCH, hidden=HIDDEN,
                   dataset="synthetic")  # fmt: skip
    report = train_data_parallel(cfg)
    return list(report.step_seconds[1:]), report.compiles_during_steps  # drop the warm-up step


def import_seconds(code: str, repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> list[dict]:
    from simlib.engine import request_devices

    devices = request_devices(8)
    hand, ours, compiles = [], [], 0
    for _ in range(ROUNDS):
        times, _ = hand_written_step_seconds(devices, STEPS)
        hand += times
        times, count = simlib_step_seconds("jit", STEPS)
        ours += times
        compiles += count
    base = statistics.median(hand)
    rows = [_row("DP step, 8 devices, jit (simlib vs hand-written)", statistics.median(ours),
                 base, "s", 1.05)]  # fmt: skip
    for style in ("pmap", "shard_map"):
        times, count = simlib_step_seconds(style, STEPS)
        compiles += count
        rows.append(_row(f"DP step, 8 devices, {style} (vs hand-written jit)",
                         statistics.median(times), base, "s", None))  # fmt: skip
    rows.append({"name": "compilations during training steps (all styles)", "value": compiles,
                 "baseline": 0, "ratio": None, "target": 0, "unit": "count",
                 "ok": compiles == 0})  # fmt: skip
    bare = import_seconds("pass")
    total = import_seconds("import simlib")
    rows.append({"name": "python -c 'import simlib' (baseline: python -c pass)", "value": total,
                 "baseline": bare, "ratio": total / bare, "target": "<= 0.3 s",
                 "unit": "s", "ok": total <= 0.3})  # fmt: skip
    return rows


def _row(name, value, baseline, unit, target):
    ratio = value / baseline
    return {"name": name, "value": value, "baseline": baseline, "ratio": ratio, "unit": unit,
            "target": target, "ok": target is None or ratio <= target}  # fmt: skip


if __name__ == "__main__":
    for row in main():
        print(row)
