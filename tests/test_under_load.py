"""The timing-sensitive tests pass on a busy machine: run beside two CPU-bound processes.

The tests marked ``load_sensitive`` are the ones that wait on other processes or servers, or
that once judged a measured time (issue 17: a pipeline bubble timed by the wall clock failed
``make test`` on a loaded 2-core machine). Here they run again, in a fresh pytest, while two
busy loops, pinned to this machine's CPUs, compete with them for every core. They must still
pass: their verdicts are counts, bytes and readiness signals, which load cannot move.

The busy loops end by themselves after ``BUSY_S`` even if this process is killed, and are
killed in ``finally`` otherwise. By hand (from the repository root)::

    python -m pytest -q tests/test_under_load.py -s       # the check, with the run's output
    python -m pytest -q -m load_sensitive                  # the marked tests alone, no load
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import HANG_S

ROOT = Path(__file__).resolve().parents[1]
BUSY_PROCESSES = 2
BUSY_S = HANG_S + 60  # longer than the loaded run may take, then the loops stop by themselves
BUSY_LOOP = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end:\n    pass\n"


def start_busy(count: int, seconds: float) -> list[subprocess.Popen]:
    """``count`` CPU-bound Python loops, each pinned to one of this process's CPUs in turn."""
    cpus = sorted(os.sched_getaffinity(0))
    procs = []
    for i in range(count):
        procs.append(subprocess.Popen(
            [sys.executable, "-c", BUSY_LOOP.format(s=seconds)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        ))  # fmt: skip
        os.sched_setaffinity(procs[-1].pid, {cpus[i % len(cpus)]})
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGKILL each process group still running, then reap it (bounded: SIGKILL can't wait)."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for p in procs:
        p.wait(timeout=60)


def marked_tests(config, session) -> list[str]:
    """The node ids of the tests that carry the marker: from this pytest's own collection when
    it collected the whole suite (``make test``), else from a collect-only run."""
    whole = not (config.option.markexpr or config.option.keyword)
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS and whole:
        return [i.nodeid for i in session.items if i.get_closest_marker("load_sensitive")]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-m", "load_sensitive",
         "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=HANG_S,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [line.strip() for line in proc.stdout.splitlines() if "::" in line]


def test_load_sensitive_tests_pass_beside_two_busy_processes(request):
    tests = marked_tests(request.config, request.session)  # under load, only their modules load
    expected = len(tests)
    assert expected >= 5, "the load_sensitive marker lost its tests"
    busy = start_busy(BUSY_PROCESSES, BUSY_S)
    run = None
    try:
        start = time.monotonic()
        run = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s",
             "--durations=0", *tests],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        out, _ = run.communicate(timeout=HANG_S)
        seconds = time.monotonic() - start
        still_busy = [p.poll() is None for p in busy]
    finally:
        stop(busy + ([run] if run is not None else []))
    print(out[-4000:])
    print(f"{expected} load-sensitive tests beside {BUSY_PROCESSES} busy processes: "
          f"{seconds:.0f} s (a measurement)")  # fmt: skip
    assert all(still_busy), "a busy process ended early: the run was not under load throughout"
    assert run.returncode == 0, out[-6000:]
    assert re.search(rf"\b{expected} passed\b", out.splitlines()[-1]), out[-2000:]
