"""`simlib engine tp|pp|zero`: the dp JSON fields plus memory, collectives and the bubble."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from helpers import HANG_S

COMMON_FIELDS = {
    "style", "devices", "steps", "final_loss", "losses", "param_count", "param_bytes",
    "max_abs_param_diff_vs_single", "collectives", "median_step_seconds", "compile_seconds",
    "memory_per_device", "memory_model_per_device", "collective_bytes", "processes",
}  # fmt: skip


def run_cli(*args: str, timeout: float = HANG_S) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("JAX_NUM_CPU_DEVICES", None)  # the CLI must set up its own devices
    return subprocess.run(
        [sys.executable, "-m", "simlib", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def run_in_process(capsys, *args: str) -> dict:
    """The CLI in this process (8 devices already): faster than a fresh interpreter."""
    from simlib.cli import main
    from simlib.engine import request_devices

    request_devices(8)
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("args", "style"),
    [
        (["tp", "--model", "4"], "tp"),
        pytest.param(["pp", "--stages", "4", "--microbatches", "8"], "pp",
                     marks=pytest.mark.load_sensitive),  # fmt: skip
        (["zero", "--stage", "2", "--style", "shard_map"], "zero2-shard_map"),
    ],
)
def test_json_has_the_dp_fields_memory_and_matching_bytes(args, style, capsys):
    if style == "pp":  # one run as a user runs it: a fresh process that sets up its devices
        proc = run_cli("engine", *args, "--steps", "5", "--json")
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
    else:
        out = run_in_process(capsys, "engine", *args, "--steps", "5", "--json")
    assert COMMON_FIELDS <= set(out)
    assert out["style"] == style and out["devices"] == 8 and len(out["losses"]) == 5
    assert out["max_abs_param_diff_vs_single"] < 1e-5
    assert out["param_count"] == 64 * 128 + 128 + 2 * (128 * 128 + 128) + 128 * 10 + 10
    assert set(out["memory_per_device"]) == {
        "parameters", "gradients", "optimizer_state", "activations"}  # fmt: skip
    assert all(row["match"] for row in out["collective_bytes"]) and out["collective_bytes"]
    assert out["processes"] == 1
    if style == "pp":
        assert out["bubble_fraction_formula"] == pytest.approx(3 / 11)
        # the verdict: idle ticks counted in the compiled step, which no load can move
        assert out["bubble_fraction_program"] == pytest.approx(3 / 11, abs=1e-12)
        timing = out["bubble_timing"]  # step times: reported, printed, never judged
        assert math.isfinite(out["bubble_fraction_measured"])
        assert timing["step_seconds"] > 0 and timing["step_seconds_2m"] > 0
        print(f"bubble from step times {out['bubble_fraction_measured']:.3f} (a measurement)")
        assert out["mesh"] == {"data": 2, "stage": 4}


def test_text_summary_names_mesh_memory_and_bytes():
    proc = run_cli("engine", "tp", "--data", "2", "--model", "4", "--steps", "3")
    assert proc.returncode == 0, proc.stderr
    assert "mesh data 2 x model 4" in proc.stdout
    assert "memory per device (measured | model): parameters 42.0 KiB" in proc.stdout
    line = "all-reduce over 4: 68,096 bytes per step compiled, 68,096 analytic (match)"
    assert line in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tp", "--data", "2", "--model", "3"], "--data 2 x --model 3 = 6 devices but --devices"),
        (["tp", "--model", "3"], "--devices=8 is not divisible by --model=3"),
        (["tp", "--hidden", "128,128"], "gives 3 layers; use an odd number of hidden widths"),
        (["tp", "--model", "8", "--hidden", "100"], "hidden width=100 is not divisible by model=8"),
        (["tp", "--batch", "100", "--data", "8", "--model", "1"], "batch=100 is not divisible"),
        (["pp", "--stages", "8"], "stages=8 is more than the 4 layers"),
        (["pp", "--microbatches", "3"], "batch per data rank=64 is not divisible by microbatch"),
        (["pp", "--devices", "6", "--stages", "4"], "--devices=6 is not divisible by --stages=4"),
        (["zero", "--stage", "5"], "invalid choice: 5"),
        (["zero", "--batch", "100"], "batch=100 is not divisible by devices=8"),
        (["zero", "--hidden", "a"], "--hidden 'a' must be widths > 0"),
        (["tp", "--devices", "0"], "argument --devices: '0' is not a whole number > 0"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    proc = run_cli("engine", *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert message in lines[0]
