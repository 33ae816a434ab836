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


def test_bare_simlib_prints_the_help_and_version_names_the_release():
    from importlib.metadata import version

    bare = subprocess.run([sys.executable, "-m", "simlib"], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert bare.returncode == 0 and bare.stdout.startswith("usage: simlib")
    assert "simulate" in bare.stdout and bare.stderr == ""
    ver = subprocess.run([sys.executable, "-m", "simlib", "--version"], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert ver.returncode == 0 and ver.stdout.strip() == f"simlib {version('simlib-course')}"


def test_every_command_has_json_and_simulate_list_honours_it():
    import argparse
    import json

    from simlib.cli import build_parser

    def leaves(parser, path):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path, {o for a in parser._actions for o in a.option_strings}
            return
        for name, sub in subs[0].choices.items():
            yield from leaves(sub, [*path, name])

    commands = list(leaves(build_parser(), []))
    assert len(commands) >= 20
    assert [p for p, opts in commands if "--json" not in opts] == []
    listing = subprocess.run([sys.executable, "-m", "simlib", "simulate", "--list", "--json"],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    scenarios = json.loads(listing.stdout)["scenarios"]
    assert scenarios and all(s["name"] and s["description"] for s in scenarios)
