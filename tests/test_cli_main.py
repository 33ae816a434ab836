"""The `simlib` entry point itself: help, and output into a pipe that closes early."""

from __future__ import annotations

import subprocess
import sys

from helpers import HANG_S


def test_help_lists_every_command_group():
    proc = subprocess.run([sys.executable, "-m", "simlib", "--help"], capture_output=True,
                          text=True, timeout=HANG_S)  # fmt: skip
    assert proc.returncode == 0
    for group in ("devices", "engine", "quiz", "cards", "cost", "simulate"):
        assert group in proc.stdout


def test_a_reader_that_stops_early_gets_no_traceback():
    """`simlib quiz list | head -1`: the CLI must not print a BrokenPipeError traceback."""
    cmd = f"{sys.executable} -m simlib quiz list | head -1"
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=HANG_S)
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
