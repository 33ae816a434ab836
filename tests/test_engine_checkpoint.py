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
    Checkpointer,
    DPConfig,
    SimulatedCrash,
    param_sha256,
    request_devices,
    train_data_parallel,
)
from simlib.engine.divergence import NonFiniteLoss
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


# -- checkpoints that verify themselves (issue 10, part 3) ------------------------------------


@pytest.fixture(scope="module")
def crashed_run(tmp_path_factory):
    """A run that saved steps 4 and 8 (every 4) and crashed after step 9."""
    folder = tmp_path_factory.mktemp("crashed")
    request_devices(8)
    with pytest.raises(SimulatedCrash):
        train_data_parallel(CFG, checkpoint=CheckpointConfig(folder, 4, fail_at_step=9))
    assert sorted(p.name for p in folder.iterdir()) == ["4", "8"]
    return folder


def _largest_file(step_dir):
    return max((p for p in step_dir.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)


def _flip(offset_fraction):
    def damage(step_dir):
        path = _largest_file(step_dir)
        data = bytearray(path.read_bytes())
        data[min(int(len(data) * offset_fraction), len(data) - 1)] ^= 0x01
        path.write_bytes(bytes(data))

    return damage


def _truncate(step_dir):
    path = _largest_file(step_dir)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _delete(step_dir):
    _largest_file(step_dir).unlink()


def _flip_losses(step_dir):  # the JSON of the losses: still valid JSON, other numbers
    path = step_dir / "meta" / "metadata"
    path.write_text(path.read_text().replace("2", "3", 1))


def _no_manifest(step_dir):
    (step_dir / "simlib-sha256.json").unlink()


DAMAGE = {
    "flip first byte": _flip(0.0),
    "flip middle byte": _flip(0.5),
    "flip last byte": _flip(1.0),
    "truncate": _truncate,
    "delete a file": _delete,
    "change the losses": _flip_losses,
    "no manifest": _no_manifest,
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_newest_checkpoint_is_reported_and_the_older_one_used(
    kind, crashed_run, tmp_path, uninterrupted
):
    import shutil

    folder = tmp_path / "ck"
    shutil.copytree(crashed_run, folder)
    DAMAGE[kind](folder / "8")
    lines = []
    config = CheckpointConfig(folder, 4, resume=True)
    saver = Checkpointer(config, CFG, notify=lines.append)
    assert saver.skipped and len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith(f"checkpoint step 8 in {folder} is damaged: ")
    assert "trying step 4" in lines[0] and (folder / "damaged" / "8").is_dir()
    saver.close()
    resumed = train_data_parallel(CFG, checkpoint=config)  # the damaged one is out of the way
    assert resumed.resumed_from_step == 4
    assert resumed.losses == uninterrupted.losses
    assert param_sha256(resumed.params) == param_sha256(uninterrupted.params)


def test_no_intact_checkpoint_is_a_config_error(crashed_run, tmp_path):
    import shutil

    folder = tmp_path / "ck"
    shutil.copytree(crashed_run, folder)
    _truncate(folder / "8")
    _flip(0.5)(folder / "4")
    with pytest.raises(ConfigError, match=r"no intact checkpoint in .*step 8: .*step 4: "):
        Checkpointer(CheckpointConfig(folder, 4, resume=True), CFG, notify=lambda line: None)


@pytest.mark.parametrize("make", ["missing", "empty", "only a temporary folder"])
def test_resume_without_a_checkpoint_is_refused(tmp_path, make):
    folder = tmp_path / "ckpt"
    if make != "missing":
        folder.mkdir()
    if make == "only a temporary folder":
        (folder / "5.orbax-checkpoint-tmp-1").mkdir()
    expected = "does not exist" if make == "missing" else "holds no finished checkpoint"
    with pytest.raises(ConfigError, match=f"--resume: .*{expected}.*drop --resume"):
        train_data_parallel(CFG, checkpoint=CheckpointConfig(folder, 4, resume=True))
    assert not folder.exists() or make != "missing"  # nothing was created for the typo


def test_a_non_finite_loss_stops_the_run_naming_step_and_learning_rate():
    diverging = DPConfig(style="shard_map", devices=4, steps=12, batch_size=64,
                         learning_rate=1e308)  # fmt: skip
    with pytest.raises(NonFiniteLoss, match=r"nan at step 2 with learning rate 1e\+308") as info:
        train_data_parallel(diverging)
    assert info.value.exit_status == 1


def test_cli_resume_of_a_mistyped_folder_and_a_diverging_run(tmp_path):
    proc = _cli("--checkpoint-dir", str(tmp_path / "typo"), "--resume", timeout=120)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "typo").exists()
    proc = _cli("--lr", "1e30", "--steps", "3", timeout=120)
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("simlib: error: the loss became") and "learning rate 1e+30" in last
