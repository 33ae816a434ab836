"""Every docstring example in simlib runs and holds: one test per module, found, not listed.

Each module of the library is imported and its examples run with ``doctest`` (``...`` matches
anything). ``simlib.engine`` is left to its own tests: its examples need JAX devices set up
first, and are skipped in the source today. The modules named in ``MUST_HAVE_EXAMPLES`` must
keep at least one example: they are the public faces whose docstrings a reader meets first.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import simlib

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(simlib.__path__, "simlib.")
    if not m.name.startswith("simlib.engine.") and not m.name.endswith("__main__")
) + ["simlib.engine.divergence"]

MUST_HAVE_EXAMPLES = {
    "simlib.sim", "simlib.sim.collectives", "simlib.sim.parameter_server", "simlib.sim.memory",
    "simlib.sim.scaling", "simlib.sim.pipeline", "simlib.sim.network", "simlib.sim.stragglers",
    "simlib.sim.cluster", "simlib.sim.policies", "simlib.sim.runner",
    "simlib.sim.collective_runs", "simlib.sim.scenario", "simlib.sim.sweeps",
    "simlib.yaml_files", "simlib.limits", "simlib.cli.arguments", "simlib.engine.divergence",
    "simlib.files", "simlib.files.names", "simlib.files.targets", "simlib.files.writer",
    "simlib.files.locks", "simlib.quiz.storage", "simlib.quiz.submissions",
    "simlib.quiz.lms", "simlib.quiz.lms.common", "simlib.quiz.lms.moodle",
    "simlib.quiz.lms.gift", "simlib.quiz.lms.qti", "simlib.quiz.gradebook_formats",
    "simlib.quiz.order", "simlib.quiz.key", "simlib.quiz.fairness", "simlib.quiz.paper",
    "simlib.quiz.grading", "simlib.quiz.variants", "simlib.quiz.bank",
    "simlib.quiz.gradebook", "simlib.quiz.printed", "simlib.quiz.units",
    "simlib.quiz.answers", "simlib.quiz.overrides", "simlib.quiz.analysis",
    "simlib.quiz.roster", "simlib.quiz.autograder", "simlib.quiz.concepts",
    "simlib.cli.progress",
}  # fmt: skip


def test_every_module_that_must_have_examples_is_found():
    assert MUST_HAVE_EXAMPLES <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    if name in MUST_HAVE_EXAMPLES:
        assert result.attempted > 0, f"{name} lost its docstring examples"
