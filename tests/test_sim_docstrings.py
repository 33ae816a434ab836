"""The examples in simlib.sim's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "simlib.sim", "simlib.sim.collectives", "simlib.sim.parameter_server", "simlib.sim.memory",
    "simlib.sim.scaling", "simlib.sim.pipeline", "simlib.sim.network", "simlib.sim.stragglers",
    "simlib.sim.cluster", "simlib.sim.policies", "simlib.sim.runner", "simlib.sim.collective_runs",
    "simlib.sim.scenario", "simlib.sim.sweeps",
]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no docstring example to run"


def test_closed_forms_import_neither_numpy_nor_simpy():
    import subprocess
    import sys

    code = "import sys, simlib.sim; print('numpy' in sys.modules, 'simpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
