"""The dashboards: the policy explorer computes what it shows, and runs as a Voila page."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from helpers import HANG_S, wait_until

from simlib.widgets import policy_explorer

DASHBOARDS = Path(__file__).resolve().parents[1] / "notebooks" / "dashboards"


def test_policy_explorer_tabulates_each_policys_runs():
    widget = policy_explorer(steps=6, target_loss=2.0)
    explorer = widget.explorer
    assert [r.label for r in explorer.runs] == ["BSP", "ASP", "SSP(s=2)"]
    for run in explorer.runs:
        assert f"{run.iterations_per_second:.2f}" in explorer.table.value
        assert run.report.gradients == 8 * 6
    assert explorer.image.value[:4] == b"\x89PNG"
    explorer.bound.value = 0
    explorer.workers.value = 2
    explorer.button.click()
    assert [r.label for r in explorer.runs] == ["BSP", "ASP", "SSP(s=0)"]
    assert explorer.runs[0].report.gradients == 2 * 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("name", ["synchronization.ipynb", "checkpoints.ipynb"])
def test_dashboard_renders_under_voila(name, tmp_path):
    """Voila is ready when its port accepts a connection (waited on, never slept on); the page
    then runs the dashboard, however long a loaded machine takes (bounded by ``HANG_S``)."""
    port = _free_port()
    voila = Path(sys.executable).parent / "voila"
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path), MPLBACKEND="Agg")
    proc = subprocess.Popen(
        [str(voila), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         str(DASHBOARDS / name)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(lambda: _listening(port), what=f"voila to listen on port {port}",
                   alive=lambda: proc.poll() is None)  # fmt: skip
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=HANG_S) as response:
            assert response.status == 200
            page = response.read().decode()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=HANG_S)
    assert "application/vnd.jupyter.widget-view+json" in page  # the dashboard's output
    assert "There was an error when executing cell" not in page  # what Voila shows for one
