"""`simlib simulate --train`: the simulated schedule replayed as real training (issue 6)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simlib.cli import main
from simlib.engine import ReplayConfig, replay
from simlib.sim import ClusterSpec, PolicySpec, simulate

ARGS = ["simulate", "--policy", "ssp", "--staleness", "1", "--workers", "3",
        "--step-seconds", "1,1.5,3", "--steps", "8", "--train", "--json"]  # fmt: skip


def run(capsys, *args):
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def test_train_adds_the_loss_curve_of_the_replayed_schedule(capsys):
    out = run(capsys, *ARGS, "--target-loss", "1e-9")
    trace = simulate(ClusterSpec(workers=3, step_seconds=[1.0, 1.5, 3.0]),
                     PolicySpec("ssp", staleness=1), steps=8)  # fmt: skip
    expected = replay(trace, ReplayConfig())
    np.testing.assert_allclose(out["loss_curve"], expected.loss_curve(), rtol=1e-6)
    assert out["final_loss"] == pytest.approx(expected.final_loss, rel=1e-6)
    assert out["gradients_trained"] == 24
    assert out["time_to_target_seconds"] is None  # a loss of 1e-9 is never reached


def test_time_to_target_is_the_first_simulated_second_below_it(capsys):
    out = run(capsys, *ARGS, "--target-loss", "10")
    assert out["time_to_target_seconds"] == 0.0 and out["gradients_to_target"] == 0
    curve = run(capsys, *ARGS)["loss_curve"]
    target = curve[len(curve) // 2][1]
    out = run(capsys, *ARGS, "--target-loss", str(target))
    first = next(t for t, loss in curve if loss <= target)
    assert out["time_to_target_seconds"] == pytest.approx(first)


def test_train_with_plot_draws_the_loss(capsys, tmp_path):
    out = run(capsys, *ARGS, "--plot", str(tmp_path))
    assert str(tmp_path / "loss.png") in out["figures"]
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_without_train_there_is_no_loss(capsys):
    out = run(capsys, *ARGS[:-2], "--json")
    assert "loss_curve" not in out and "final_loss" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target-loss", "0.5"], "--target-loss: only with --train"),
        (["--lr", "0.2", "--dataset", "synthetic"], "--dataset, --lr: only with --train"),
        (["--workers", "200", "--train"],
         "200 workers x --batch-per-worker 16 = 3200 examples per step, more than the digits"),
    ],
)
def test_training_flag_errors_are_one_line(capsys, args, message):
    base = ["simulate", "--policy", "asp", "--workers", "2", "--steps", "2"]
    assert main([*base, *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err
