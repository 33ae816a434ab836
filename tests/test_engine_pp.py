"""Pipeline parallelism (GPipe over ppermute) x data parallelism against one device (issue 4)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from helpers import assert_trees_allclose

from simlib.engine import (
    PPConfig,
    collectives,
    compare_collectives,
    gpipe_ticks,
    init_mlp,
    pp_collectives,
    program_bubble,
    reference_train,
    request_devices,
    stack_stages,
    summarize,
    train_pipeline,
    unstack_stages,
)
from simlib.errors import ConfigError
from simlib.sim import pipeline_cost

STEPS = 10
PIPELINES = {
    "4 stages x 2 data, 4 microbatches": {"stages": 4, "data": 2, "microbatches": 4},
    "2 stages x 4 data, adam": {"stages": 2, "data": 4, "microbatches": 2, "optimizer": "adam",
                                "learning_rate": 0.01},
    "8 stages, 8 layers, 8 microbatches": {"stages": 8, "data": 1, "microbatches": 8,
                                           "hidden": (64,) * 7},
}  # fmt: skip


@pytest.fixture(scope="module")
def runs():
    request_devices(8)
    out = {}
    for name, kw in PIPELINES.items():
        cfg = PPConfig(steps=STEPS, **kw)
        out[name] = (cfg, train_pipeline(cfg, measure=False), reference_train(cfg))
    return out


@pytest.mark.parametrize("name", list(PIPELINES))
def test_pipeline_trains_what_one_device_trains(runs, name):
    cfg, report, (ref_params, ref_losses) = runs[name]
    assert len(report.losses) == STEPS and report.losses[-1] < report.losses[0]
    assert_trees_allclose(report.params, ref_params, atol=1e-5)
    np.testing.assert_allclose(report.losses, ref_losses, atol=1e-5)
    assert report.compiles_during_steps == 0


@pytest.mark.parametrize("name", list(PIPELINES))
def test_compiled_collective_bytes_equal_the_analytic_count(runs, name):
    cfg, report, _ = runs[name]
    rows = compare_collectives(report.analytic, summarize(collectives(report.hlo_text)))
    assert rows and all(r["match"] for r in rows), rows
    permutes = [c for c in collectives(report.hlo_text) if c.kind == "collective-permute"]
    assert len(permutes) == 2  # one in the forward loop, its transpose in the backward loop
    assert all(c.count == cfg.microbatches + cfg.stages - 1 for c in permutes)
    formula = pipeline_cost(cfg.stages, cfg.microbatches, schedule="gpipe").bubble_fraction
    assert report.extras["bubble_fraction_program"] == pytest.approx(formula, abs=1e-12)


def test_one_stage_sends_nothing_between_stages():
    """With one stage the ppermute is a device sending to itself (a group of one: no bytes
    between devices), so the analytic count must not list a permute across the mesh."""
    request_devices(8)
    cfg = PPConfig(stages=1, data=8, microbatches=2, steps=2)
    report = train_pipeline(cfg, measure=False)
    compiled = summarize(collectives(report.hlo_text))
    assert not any(c["kind"] == "collective-permute" and c["group_size"] > 1 for c in compiled)
    rows = compare_collectives(report.analytic, compiled)
    assert rows and all(r["match"] for r in rows), rows
    assert report.extras["bubble_fraction_program"] == 0.0


def test_analytic_permute_bytes_by_hand():
    rows = pp_collectives(PPConfig(stages=4, data=2, microbatches=4))
    # mb = 128 / 2 / 4 = 16 rows of the widest layer (128 floats), 4 + 4 - 1 = 7 ticks each way
    assert [(r["kind"], r["bytes"], r["count"]) for r in rows[:2]] == [
        ("collective-permute", 4 * 16 * 128, 7)
    ] * 2


def test_each_stage_holds_its_layers_padded_to_the_widest(runs):
    cfg, report, _ = runs["4 stages x 2 data, 4 microbatches"]
    # one 128x128 layer (+ bias) per stage, whatever its real shape (64x128 ... 128x10)
    assert report.memory.parameters == 4 * (128 * 128 + 128)
    assert report.extras["memory_model"]["parameters"] == 4 * report.param_count / cfg.stages


def test_stacking_is_exact_and_reversible():
    params = jax.tree.map(np.asarray, init_mlp(jax.random.key(1), (64, 96, 128, 32, 10)))
    stacked = stack_stages(params, 2)
    assert stacked["w"].shape == (2, 2, 128, 128) and stacked["b"].shape == (2, 2, 128)
    assert_trees_allclose(unstack_stages(stacked, (64, 96, 128, 32, 10)), params, atol=0)
    assert np.count_nonzero(stacked["w"][0, 0, 64:, :]) == 0  # padding is zeros


@pytest.mark.parametrize(("stages", "microbatches"), [(1, 1), (2, 3), (4, 4), (4, 8), (8, 2)])
def test_the_engines_tick_table_idles_exactly_the_simulators_bubble(stages, microbatches):
    """Two implementations agree: the engine's GPipe tick table and the simulator's formula."""
    ticks = gpipe_ticks(stages, microbatches)
    assert ticks.shape == (stages, 2 * (microbatches + stages - 1))
    for s in range(stages):  # every microbatch once forward and once backward on every stage
        assert sorted(ticks[s][ticks[s] >= 0]) == sorted(list(range(microbatches)) * 2)
    formula = pipeline_cost(stages, microbatches, schedule="gpipe").bubble_fraction
    assert np.mean(ticks < 0) == pytest.approx(formula, abs=1e-12)


@pytest.mark.load_sensitive
def test_bubble_counted_in_the_compiled_program_shrinks_with_more_microbatches():
    """The bubble of the compiled step, from its idle ticks (loop trip counts in the HLO), is
    GPipe's formula exactly and smaller with more microbatches, however loaded the machine is.
    The wall-clock estimate (``measure_bubble``) is a benchmark: benchmarks/bench_bubble.py."""
    devices = request_devices(8)
    got = {}
    for m in (2, 16):  # 64 rows per data rank: microbatches of 32 and of 4 rows
        cfg = PPConfig(stages=4, data=2, microbatches=m, steps=1)
        report = train_pipeline(cfg, devices=devices, measure=False)
        counted = program_bubble(report.hlo_text, m)
        assert counted["ticks"] == 2 * (m + 4 - 1) and counted["idle_ticks"] == 2 * (4 - 1)
        formula = pipeline_cost(4, m, schedule="gpipe").bubble_fraction
        assert counted["bubble_fraction_program"] == pytest.approx(formula, abs=1e-12)
        assert report.extras["bubble_fraction_program"] == counted["bubble_fraction_program"]
        got[m] = counted["bubble_fraction_program"]
    assert got[16] < got[2]


def test_one_stage_idles_no_tick():
    assert program_bubble("HloModule m\nENTRY %e () -> f32[] {\n}", microbatches=3) == {
        "ticks": 6, "idle_ticks": 0, "bubble_fraction_program": 0.0}  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stages": 8}, "stages=8 is more than the 4 layers of hidden=128,128,128; use at most 4"),
        ({"stages": 3}, "do not split evenly into stages=3"),
        ({"data": 3}, "batch=128 is not divisible by data=3"),
        ({"microbatches": 5}, "batch per data rank=64 is not divisible by microbatches=5"),
        ({"schedule": "zb-h1"}, "schedule must be one of gpipe"),
    ],
)
def test_bad_configs_name_the_value_and_the_fix(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PPConfig(**kwargs)
