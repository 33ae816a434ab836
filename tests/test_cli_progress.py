"""Progress bars: on stderr when it is a terminal, and nowhere when it is a pipe."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios

from helpers import HANG_S

SIMULATE = ["simulate", "--workers", "4", "--steps", "20", "--train", "--json"]
DP = ["engine", "dp", "--devices", "2", "--batch", "32", "--steps", "30", "--json"]


def _run_on_terminal(args: list[str]) -> tuple[int, str, str]:
    """Run ``simlib ARGS`` with stderr on a pseudo-terminal; return (status, stdout, stderr)."""
    master, slave = pty.openpty()
    # A fresh pty is 0 x 0 characters, and tqdm draws nothing into 0 columns: size it as a
    # terminal window would be.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = dict(os.environ)
    env.pop("JAX_NUM_CPU_DEVICES", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "simlib", *args], stdout=subprocess.PIPE, stderr=slave, env=env
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the process is done with it
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=HANG_S)
    os.close(master)
    return proc.returncode, out.decode(), seen.decode(errors="replace")


def test_simulate_train_shows_its_phases_on_a_terminal_only():
    code, out, err = _run_on_terminal(SIMULATE)
    assert code == 0, err
    assert "simulating" in err and "replaying as training" in err
    assert json.loads(out)["final_loss"] > 0  # stdout stays one JSON object
    piped = subprocess.run([sys.executable, "-m", "simlib", *SIMULATE], capture_output=True,
                           text=True, timeout=HANG_S)  # fmt: skip
    assert piped.returncode == 0 and piped.stderr == ""


def test_engine_dp_draws_a_bar_over_its_steps_on_a_terminal():
    code, out, err = _run_on_terminal(DP)
    assert code == 0, err
    assert "step" in err and "/30" in err  # tqdm: "k/30 [..., step/s]"
    assert json.loads(out)["steps"] == 30
