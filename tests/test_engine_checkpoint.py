"""Checkpoints with orbax: crash, resume, bitwise-identical parameters (issue 6, item 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from simlib.engine import (
    CheckpointConfig,
    DPConfig,
    SimulatedCrash,
    param_sha256,
    request_devices,
    train_data_parallel,
)
from simlib.errors import ConfigError

CFG = DPConfig(style="shard_map", devices=4, steps=12, batch_size=64)


@pytest.fixture(scope="module")
def uninterrupted():
    request_devices(8)
    return train_data_parallel(CFG)


def test_crash_then_resume_is_bitwise_identical(tmp_path, uninterrupted):
    with pytest.raises(SimulatedCrash) as crash:
        train_data_parallel(CFG, checkpoint=CheckpointConfig(tmp_path, 4, fail_at_step=6))
    assert (crash.value.step, crash.value.last_checkpoint) == (6, 4)
    resumed = train_data_parallel(CFG, checkpoint=CheckpointConfig(tmp_path, 4, resume=True))
    assert resumed.resumed_from_step == 4
    assert len(resumed.step_seconds) == 8  # steps 5..12 ran in the resumed process
    assert resumed.losses == uninterrupted.losses
    assert param_sha256(resumed.params) == param_sha256(uninterrupted.params)
    assert resumed.param_sha256 != param_sha256(train_data_parallel(
        DPConfig(style="shard_map", devices=4, steps=11, batch_size=64)).params)  # fmt: skip


def test_resume_on_other_devices_and_style(tmp_path, uninterrupted):
    """The checkpoint holds unsharded parameters: it can continue on 2 devices with pmap."""
    with pytest.raises(SimulatedCrash):
        train_data_parallel(CFG, checkpoint=CheckpointConfig(tmp_path, 3, fail_at_step=7))
    other = DPConfig(style="pmap", devices=2, steps=12, batch_size=64)
    resumed = train_data_parallel(other, checkpoint=CheckpointConfig(tmp_path, 3, resume=True))
    assert resumed.resumed_from_step == 6
    np.testing.assert_allclose(resumed.losses, uninterrupted.losses, rtol=1e-5)


def test_a_folder_with_another_runs_checkpoints_is_refused_without_resume(tmp_path):
    """Orbax would silently skip every save into it; say so instead."""
    with pytest.raises(SimulatedCrash):
        train_data_parallel(CFG, checkpoint=CheckpointConfig(tmp_path, 4, fail_at_step=9))
    message = r"already holds checkpoints \(newest: step 8\).*--resume"
    with pytest.raises(ConfigError, match=message):
        train_data_parallel(CFG, checkpoint=CheckpointConfig(tmp_path, 4))


def test_the_crash_message_says_how_to_continue(tmp_path):
    with pytest.raises(SimulatedCrash, match=r"last finished checkpoint in .*: step 4\).*"
                       r"add --resume, drop --fail-at-step"):  # fmt: skip
        train_data_parallel(CFG, checkpoint=CheckpointConfig(tmp_path, 4, fail_at_step=6))


def test_resuming_a_different_run_is_refused(tmp_path):
    with pytest.raises(SimulatedCrash):
        train_data_parallel(CFG, checkpoint=CheckpointConfig(tmp_path, 2, fail_at_step=3))
    other = DPConfig(style="shard_map", devices=4, steps=12, batch_size=64, learning_rate=0.2)
    with pytest.raises(ConfigError, match=r"learning_rate=0.1, not 0.2"):
        train_data_parallel(other, checkpoint=CheckpointConfig(tmp_path, 2, resume=True))


def _cli(*args, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "JAX_NUM_CPU_DEVICES"}
    cmd = [sys.executable, "-m", "simlib", "engine", "dp", "--style", "pmap", "--devices", "4",
           "--steps", "20", "--batch", "64", *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def test_cli_crash_during_a_checkpoint_write_and_resume(tmp_path):
    """Step 10's checkpoint (17 MB: a 64-2048-2048-10 network) is being written when the
    process dies: only orbax's temporary folder is left, and the resume starts from step 5."""
    big = ["--hidden", "2048,2048"]
    plain = json.loads(_cli(*big, "--json").stdout)
    ck = ["--checkpoint-dir", str(tmp_path), "--checkpoint-every", "5", *big]
    crashed = _cli(*ck, "--fail-at-step", "10", "--json")
    assert crashed.returncode == 3 and crashed.stdout == ""
    assert "simulated crash after step 10" in crashed.stderr and "--resume" in crashed.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.isdigit()) == ["5"]
    assert any(p.name.startswith("10.orbax-checkpoint-tmp") for p in tmp_path.iterdir())
    resumed = json.loads(_cli(*ck, "--resume", "--json").stdout)
    assert resumed["resumed_from_step"] == 5
    assert resumed["param_sha256"] == plain["param_sha256"]
    assert resumed["losses"] == plain["losses"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resume"], "--resume needs --checkpoint-dir DIR"),
        (["--checkpoint-every", "3"], "--checkpoint-every needs --checkpoint-dir DIR"),
        (["--checkpoint-dir", "x", "--fail-at-step", "30"], "--fail-at-step 30 is after the last"),
    ],
)
def test_cli_checkpoint_flag_errors(args, message):
    proc = _cli(*args)
    assert proc.returncode == 2 and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
