"""Data parallelism, three ways, against the single-device reference (issue 2, must hold)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_trees_allclose

from simlib.engine import (
    DPConfig,
    accumulated_grads,
    collectives,
    global_batches,
    init_mlp,
    loss_fn,
    param_bytes,
    request_devices,
    sgd_update,
    train_data_parallel,
)
from simlib.errors import ConfigError

STEPS = 20


@pytest.fixture(scope="module")
def reference():
    return train_data_parallel(DPConfig(style="single", devices=1, steps=STEPS, batch_size=128))


@pytest.fixture(scope="module")
def runs():
    request_devices(8)
    return {
        style: train_data_parallel(DPConfig(style=style, devices=8, steps=STEPS, batch_size=128))
        for style in ("pmap", "jit", "shard_map")
    }


def test_reference_equals_a_hand_written_sgd_loop(reference):
    """The 'single' style is plain SGD: replay it with jax.grad and compare every loss."""
    from simlib.engine import digits

    data = digits()
    params = init_mlp(jax.random.key(0), (64, 128, 10))
    losses = []
    for x, y in global_batches(data, 128, STEPS, seed=0):
        loss, grads = jax.value_and_grad(loss_fn)(params, jnp.asarray(x), jnp.asarray(y))
        params = sgd_update(params, grads, 0.1)
        losses.append(float(loss))
    np.testing.assert_allclose(reference.losses, losses, rtol=1e-6)
    assert_trees_allclose(reference.params, params, atol=1e-6)


@pytest.mark.parametrize("style", ["pmap", "jit", "shard_map"])
def test_parallel_style_matches_single_device(style, runs, reference):
    run = runs[style]
    assert run.config.devices == 8
    assert_trees_allclose(run.params, reference.params, atol=1e-5)
    np.testing.assert_allclose(run.losses, reference.losses, rtol=1e-5)
    assert reference.losses[-1] < 0.7 * reference.losses[0]  # it really learns


@pytest.mark.parametrize("style", ["pmap", "jit", "shard_map"])
def test_gradient_all_reduce_carries_exactly_the_parameter_bytes(style, runs):
    run = runs[style]
    found = collectives(run.hlo_text)
    assert [c.kind for c in found] == ["all-reduce"]
    (ar,) = found
    assert (ar.group_size, ar.num_groups, ar.count) == (8, 1, 1)
    # One merged all-reduce: every gradient leaf plus the scalar loss (4 bytes).
    dims = [[int(d) for d in shape[4:-1].split(",") if d] for shape in ar.operand_shapes]
    sizes = sorted(int(np.prod(d)) for d in dims)
    leaf_sizes = sorted(int(np.size(leaf)) for leaf in jax.tree.leaves(run.params))
    assert sizes == sorted([1, *leaf_sizes])
    assert ar.operand_bytes == param_bytes(run.params) + 4
    assert ar.ring_bytes_sent_per_device == pytest.approx(2 * 7 / 8 * (param_bytes(run.params) + 4))


def test_no_recompilation_during_training(runs, reference):
    for run in [*runs.values(), reference]:
        assert run.compiles_during_steps == 0
        assert len(run.step_seconds) == STEPS and run.compile_seconds > 0


@pytest.mark.parametrize("style", ["single", "shard_map", "pmap"])
def test_gradient_accumulation_matches_full_batch(style, reference):
    devices = 1 if style == "single" else 4
    cfg = DPConfig(style=style, devices=devices, steps=STEPS, batch_size=128, microbatches=4)
    run = train_data_parallel(cfg)
    assert_trees_allclose(run.params, reference.params, atol=1e-5)
    found = [(c.kind, c.count, c.operand_bytes) for c in collectives(run.hlo_text)]
    # Written by hand, the all-reduce runs once per step, after the accumulation loop.
    expected = [] if style == "single" else [("all-reduce", 1, param_bytes(run.params) + 4)]
    assert found == expected


def test_jit_accumulation_lets_the_compiler_reduce_every_microbatch(reference):
    """Under plain jit the compiler all-reduces each microbatch's gradient: k x the bytes."""
    run = train_data_parallel(
        DPConfig(style="jit", devices=8, steps=STEPS, batch_size=128, microbatches=2)
    )
    assert_trees_allclose(run.params, reference.params, atol=1e-5)
    total = sum(c.total_operand_bytes for c in collectives(run.hlo_text) if c.kind == "all-reduce")
    assert total == 2 * (param_bytes(run.params) + 4)


def test_accumulated_grads_equal_value_and_grad():
    params = init_mlp(jax.random.key(1), (5, 7, 3))
    x = jax.random.normal(jax.random.key(2), (12, 5))
    y = jnp.arange(12) % 3
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    for k in (1, 2, 3, 6):
        loss_k, grads_k = accumulated_grads(params, x, y, k)
        np.testing.assert_allclose(loss_k, loss, rtol=1e-6)
        assert_trees_allclose(grads_k, grads, atol=1e-6)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"style": "pjit"}, "style must be one of"),
        ({"devices": 0}, "devices must be > 0"),
        ({"batch_size": 100}, "batch=100 is not divisible by devices=8"),
        ({"batch_size": 64, "microbatches": 3}, "not divisible by microbatches=3"),
        ({"learning_rate": -1.0}, "learning_rate must be > 0"),
        ({"dataset": "mnist"}, "dataset must be one of digits, synthetic"),
    ],
)
def test_config_errors_name_the_field_and_value(fields, message):
    with pytest.raises(ConfigError, match=message):
        DPConfig(**{"devices": 8, **fields})


@pytest.mark.parametrize("n", [2, 8])
def test_shard_map_grad_without_pcast_is_n_times_too_large(n):
    from simlib.engine import shard_map_gradient_scale

    devices = request_devices(8)[:n]
    assert shard_map_gradient_scale(devices, pcast=False) == pytest.approx(n, rel=1e-5)
    assert shard_map_gradient_scale(devices, pcast=True) == pytest.approx(1.0, rel=1e-5)
