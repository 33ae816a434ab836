"""Two OS processes joined by jax.distributed train what one process trains; failures end fast.

Every subprocess here has a hard timeout, so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from simlib.engine import (
    LaunchConfig,
    LaunchError,
    check_port,
    launch,
    request_devices,
    tp_summary,
)
from simlib.errors import ConfigError

LAUNCH = ["engine", "launch", "--processes", "2", "--devices-per-process", "4"]
LONG_RUN = ["tp", "--steps", "3000"]  # a minute or more: still running when the test kills


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("JAX_NUM_CPU_DEVICES", None)
    return subprocess.run(
        [sys.executable, "-m", "simlib", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_processes_train_what_one_process_trains():
    """Tensor parallelism 2 x 4: the 'model' all-reduces stay inside each process, the 'data'
    all-reduce crosses between them, and the final shards are gathered from both processes."""
    proc = run_cli(*LAUNCH, "--", "tp", "--data", "2", "--model", "4", "--steps", "10", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    two = json.loads(proc.stdout)  # stdout is the one JSON object, gloo's chatter went to stderr
    assert two["processes"] == 2 and two["devices"] == 8
    request_devices(8)
    one = tp_summary(data=2, model=4, steps=10)
    assert one["processes"] == 1
    # gloo adds the partial sums in another order than one process does: equal to float rounding
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=0, atol=1e-6)
    assert two["max_abs_param_diff_vs_single"] < 1e-5 and one["max_abs_param_diff_vs_single"] < 1e-5
    assert two["collective_bytes"] == one["collective_bytes"]
    assert two["memory_per_device"] == one["memory_per_device"]


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        proc = run_cli(*LAUNCH, "--port", str(port), "--", "tp", timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert f"port {port} is already in use" in lines[0] and "--port" in lines[0]


def _start_long_launch(stdout) -> tuple[subprocess.Popen, list[int]]:
    """Start a long two-process launch; return it and its two processes' pids."""
    env = dict(os.environ)
    env.pop("JAX_NUM_CPU_DEVICES", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "simlib", *LAUNCH, "--timeout", "120", "--", *LONG_RUN],
        stdout=stdout, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    pids: list[int] = []
    deadline = time.monotonic() + 60
    while len(pids) < 2 and time.monotonic() < deadline:
        found = re.search(r"process \d started \(pid (\d+)\)", proc.stderr.readline())
        if found:
            pids.append(int(found.group(1)))
    return proc, pids


def test_when_one_process_dies_the_other_is_stopped_in_bounded_time():
    proc, pids = _start_long_launch(subprocess.PIPE)
    try:
        assert len(pids) == 2
        time.sleep(6)  # let both join the job and start training
        assert proc.poll() is None, "the run ended before the test could kill a process"
        os.kill(pids[1], signal.SIGKILL)
        killed = time.monotonic()
        _, err = proc.communicate(timeout=30)
        elapsed = time.monotonic() - killed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert "process 1 of 2 was killed by SIGKILL" in err and "stopped the other 1 process" in err
    assert elapsed < 10
    time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids), "a launched process outlived the launcher"


def test_a_failing_process_reports_its_error(tmp_path):
    """The library call, with a command that fails in process 1 only."""
    script = tmp_path / "fail.py"
    script.write_text(
        "import os, sys, time\n"
        "if os.environ['SIMLIB_PROCESS_ID'] == '1':\n"
        "    sys.exit('simlib: error: process one gave up')\n"
        "time.sleep(60)\n"
    )
    start = time.monotonic()
    with pytest.raises(LaunchError, match="process 1 of 2 exited with status 1: process one gave"):
        launch(LaunchConfig(processes=2, grace_s=1.0), [sys.executable, str(script)])
    assert time.monotonic() - start < 10


def test_a_run_past_its_timeout_is_stopped(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(60)\n")
    start = time.monotonic()
    with pytest.raises(LaunchError, match="did not finish within 1 s"):
        launch(LaunchConfig(processes=2, timeout_s=1, grace_s=1.0), [sys.executable, str(script)])
    assert time.monotonic() - start < 6


def test_check_port_names_the_port():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} is already in use"):
            check_port(port)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--", "tp", "--devices", "4"], "uses --devices 4 but --processes 2 x --devices-per-pro"),
        (["--", "tp", "--model", "3"], "--devices=8 is not divisible by --model=3"),
        (["--", "dp", "--style", "pmap"], "launch runs dp with --style jit or shard_map"),
        (["--", "launch"], "launch needs an engine command after --, one of dp, tp, pp, zero"),
        ([], "launch needs an engine command after --"),
    ],
)
def test_bad_launch_input_is_one_line_exit_2(args, message):
    proc = run_cli(*LAUNCH, *args, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert message in lines[0]


def test_a_killed_launcher_leaves_no_process_behind():
    """SIGKILL gives the launcher no chance to clean up: the kernel's PDEATHSIG does it."""
    proc, pids = _start_long_launch(subprocess.DEVNULL)
    try:
        assert len(pids) == 2
        time.sleep(4)
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in pids)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
