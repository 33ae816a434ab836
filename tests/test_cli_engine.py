"""The `simlib` command line: devices and engine dp, with --json, and its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import HANG_S

from simlib.cli import main


def run_cli(*args: str, timeout: float = HANG_S) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("JAX_NUM_CPU_DEVICES", None)  # the CLI must set up its own devices
    return subprocess.run(
        [sys.executable, "-m", "simlib", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def test_engine_dp_json_reports_a_run_that_matches_one_device():
    proc = run_cli("engine", "dp", "--devices", "4", "--style", "shard_map", "--steps", "20",
                   "--batch", "64", "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["style"], out["devices"], out["steps"]) == ("shard_map", 4, 20)
    assert len(out["losses"]) == 20 and out["final_loss"] == out["losses"][-1]
    assert out["final_loss"] < out["losses"][0]
    assert out["param_count"] == 64 * 128 + 128 + 128 * 10 + 10
    assert out["param_bytes"] == 4 * out["param_count"]
    assert out["max_abs_param_diff_vs_single"] < 1e-5
    assert out["collectives"] == [
        {"kind": "all-reduce", "bytes": out["param_bytes"] + 4, "count": 1, "group_size": 4,
         "ring_bytes_sent_per_device": 2 * 3 / 4 * (out["param_bytes"] + 4)}
    ]  # fmt: skip
    assert out["median_step_seconds"] > 0 and out["compile_seconds"] > 0
    assert out["compiles_during_steps"] == 0


def test_engine_dp_text_summary():
    proc = run_cli("engine", "dp", "--style", "pmap", "--devices", "2", "--steps", "3")
    assert proc.returncode == 0, proc.stderr
    assert "style pmap, 2 cpu device(s)" in proc.stdout
    assert "all-reduce: 38,444 bytes x 1 per step over 2 devices" in proc.stdout


def test_devices_json():
    proc = run_cli("devices", "--json")
    out = json.loads(proc.stdout)
    assert out["device_count"] == 8 and len(out["devices"]) == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--devices", "0"], "--devices 0 must be a whole number > 0"),
        (["--devices", "-2"], "--devices -2 must be a whole number > 0"),
        (["--devices", "8", "--batch", "100"], "--batch=100 is not divisible by --devices=8"),
        (["--steps", "0"], "argument --steps: '0' is not a whole number > 0"),
        (["--style", "pjit"], "invalid choice: 'pjit'"),
        (["--hidden", "12,x"], "--hidden '12,x' must be widths > 0"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    proc = run_cli("engine", "dp", *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert message in lines[0]


def test_more_devices_than_the_running_backend(capsys):
    """In a process whose JAX already started (8 devices), asking for 16 is a clear error."""
    from simlib.engine import request_devices

    request_devices(8)
    assert main(["engine", "dp", "--devices", "16", "--batch", "128", "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "asked for 16 devices but JAX already started with 8 cpu device(s)" in err
    assert "restart the kernel" in err


def test_import_simlib_does_not_import_jax():
    code = "import sys, simlib, simlib.cli; simlib.cli.build_parser(); print('jax' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=HANG_S)  # fmt: skip
    assert proc.stdout.strip() == "False", proc.stderr


def test_console_script_is_installed():
    from pathlib import Path

    script = Path(sys.executable).parent / "simlib"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=HANG_S)
    assert proc.returncode == 0 and "engine" in proc.stdout and "devices" in proc.stdout
