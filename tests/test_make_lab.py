"""`make lab` starts JupyterLab, also as root (the default user in containers)."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lab_command() -> list[str]:
    dry = subprocess.run(
        ["make", "-s", "-n", "-o", ".venv/.installed", "lab"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    (line,) = [x for x in dry.stdout.splitlines() if "jupyter lab" in x]
    return shlex.split(line)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_serves_the_course(tmp_path):
    command = _lab_command()
    assert ("--allow-root" in command) == (os.geteuid() == 0)
    assert command[-1] == "notebooks/00_start_here.ipynb"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "BROWSER": "true"}
    port = _free_port()
    proc = subprocess.Popen(
        [*command, "--no-browser", f"--port={port}", "--ServerApp.port_retries=0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(180, proc.kill)  # a silent hang ends the read loop too
    watchdog.start()
    try:
        deadline = time.monotonic() + 180  # a readiness line, not a fixed sleep
        seen = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            if f"127.0.0.1:{port}/lab" in line:
                break
        assert any(f"127.0.0.1:{port}/lab" in x for x in seen), "".join(seen)[-2000:]
        assert proc.poll() is None
    finally:
        watchdog.cancel()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
