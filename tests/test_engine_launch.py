"""Two OS processes joined by jax.distributed train what one process trains; failures end fast.

No verdict here rests on how long something took: a test waits for a readiness signal (a
process's "joined the job" line) rather than sleeping, and "stopped" means the other processes
never reached the end of their work, not that the launcher beat a stopwatch. Every wait has a
generous bound (``HANG_S``), so a hang fails the test instead of stalling the suite; the
durations are printed as measurements.
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
from helpers import HANG_S, wait_until

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
LONG_RUN = ["tp", "--steps", "3000"]  # a minute or more: the test kills it soon after joining


def run_cli(*args: str, timeout: float = HANG_S) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("JAX_NUM_CPU_DEVICES", None)
    return subprocess.run(
        [sys.executable, "-m", "simlib", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def _alive(pid: int) -> bool:
    """Running, or stopped but not yet dead; a zombie (dead, waiting to be reaped) is gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_two_processes_train_what_one_process_trains():
    """Tensor parallelism 2 x 4: the 'model' all-reduces stay inside each process, the 'data'
    all-reduce crosses between them, and the final shards are gathered from both processes."""
    proc = run_cli(*LAUNCH, "--json", "--", "tp", "--data", "2", "--model", "4", "--steps", "10")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)  # stdout is the one JSON object, gloo's chatter went to stderr
    assert out["launch"]["processes"] == 2 and out["launch"]["returncodes"] == [0, 0]
    assert out["launch"]["devices_per_process"] == 4 and out["launch"]["seconds"] > 0
    two = out["result"]  # process 0's own --json object, which launch --json asked for
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
        proc = run_cli(*LAUNCH, "--port", str(port), "--", "tp")
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert f"port {port} is already in use" in lines[0] and "--port" in lines[0]


def _start_long_launch(stdout, tmp_path) -> tuple[subprocess.Popen, list[int]]:
    """Start a long two-process launch; return it once both processes joined, with their pids.

    The launcher keeps each process's stderr in a temporary folder; TMPDIR puts it under
    ``tmp_path``, where the test reads the "joined the job" lines.
    """
    env = dict(os.environ, TMPDIR=str(tmp_path))
    env.pop("JAX_NUM_CPU_DEVICES", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "simlib", *LAUNCH, "--timeout", "3600", "--", *LONG_RUN],
        stdout=stdout, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    pids: list[int] = []
    try:
        while len(pids) < 2:  # the launcher prints these as it starts each process
            line = proc.stderr.readline()
            assert line, f"the launcher ended before starting 2 processes (status {proc.wait()})"
            found = re.search(r"process \d started \(pid (\d+)\)", line)
            if found:
                pids.append(int(found.group(1)))

        def joined() -> bool:
            logs = [p.read_text() for p in tmp_path.glob("simlib-launch-*/[01].err")]
            return len(logs) == 2 and all(" joined the job" in log for log in logs)

        wait_until(joined, what="both processes to join the job", alive=lambda: proc.poll() is None)
    except BaseException:
        _stop_launcher(proc)
        raise
    return proc, pids


def _stop_launcher(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=HANG_S)


def _all_gone(pids) -> bool:
    return not any(_alive(pid) for pid in pids)


@pytest.mark.load_sensitive
def test_when_one_process_dies_the_other_is_stopped(tmp_path):
    """Process 1 is killed once both joined: the launcher ends (long before process 0 could
    have run its 3000 steps), reports process 1, and no launched process outlives it."""
    proc, pids = _start_long_launch(subprocess.PIPE, tmp_path)
    try:
        assert proc.poll() is None, "the run ended before the test could kill a process"
        os.kill(pids[1], signal.SIGKILL)
        killed = time.monotonic()
        out, err = proc.communicate(timeout=HANG_S)
        print(f"launcher ended {time.monotonic() - killed:.1f} s after the kill (a measurement)")
    finally:
        _stop_launcher(proc)
    assert proc.returncode == 1 and out == ""
    assert "process 1 of 2 was killed by SIGKILL" in err and "stopped the other 1 process" in err
    wait_until(lambda: _all_gone(pids), what="the launched processes to be gone", timeout_s=60)


def _two_process_script(tmp_path, body_for_process_1: str):
    """A script for ``launch``: process 1 runs ``body_for_process_1``; the other one sleeps for
    a long while and then leaves a file, the proof that nobody stopped it."""
    finished = tmp_path / "slept-to-the-end"
    script = tmp_path / "script.py"
    script.write_text(
        "import os, sys, time\n"
        "if os.environ['SIMLIB_PROCESS_ID'] == '1':\n"
        f"    {body_for_process_1}\n"
        f"time.sleep({HANG_S / 2:g})\n"
        f"open({str(finished)!r}, 'w').close()\n"
    )
    return [sys.executable, str(script)], finished


@pytest.mark.load_sensitive
def test_a_failing_process_reports_its_error(tmp_path):
    """The library call, with a command that fails in process 1 only: process 0 is stopped
    before it could finish (no file), and process 1's error is the launcher's message."""
    fail = "sys.exit('simlib: error: process one gave up')"
    command, finished = _two_process_script(tmp_path, fail)
    pids = []
    start = time.monotonic()
    with pytest.raises(LaunchError, match="process 1 of 2 exited with status 1: process one gave"):
        launch(LaunchConfig(processes=2, grace_s=1.0), command,
               on_start=lambda rank, pid: pids.append(pid))  # fmt: skip
    print(f"launch raised after {time.monotonic() - start:.1f} s (a measurement)")
    assert len(pids) == 2
    wait_until(lambda: _all_gone(pids), what="the launched processes to be gone", timeout_s=60)
    assert not finished.exists()


@pytest.mark.load_sensitive
def test_a_run_past_its_timeout_is_stopped(tmp_path):
    """Both processes would sleep far past ``timeout_s``: the launcher stops them and says so."""
    command, finished = _two_process_script(tmp_path, "pass")
    pids = []
    with pytest.raises(LaunchError, match="did not finish within 1 s"):
        launch(LaunchConfig(processes=2, timeout_s=1, grace_s=1.0), command,
               on_start=lambda rank, pid: pids.append(pid))  # fmt: skip
    assert len(pids) == 2
    wait_until(lambda: _all_gone(pids), what="the launched processes to be gone", timeout_s=60)
    assert not finished.exists()


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
    proc = run_cli(*LAUNCH, *args)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert message in lines[0]


@pytest.mark.load_sensitive
def test_a_killed_launcher_leaves_no_process_behind(tmp_path):
    """SIGKILL gives the launcher no chance to clean up: the kernel's PDEATHSIG does it."""
    proc, pids = _start_long_launch(subprocess.DEVNULL, tmp_path)
    try:
        proc.kill()
        proc.wait(timeout=HANG_S)
        wait_until(lambda: _all_gone(pids), what="the orphaned processes to die", timeout_s=60)
    finally:
        _stop_launcher(proc)
