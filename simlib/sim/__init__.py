"""The instrumented cluster simulator: closed forms, and SimPy runs that reproduce them.

Closed forms (pure Python; importing them loads neither numpy nor SimPy):
:func:`allreduce_cost`, :func:`reduce_scatter_cost`, :func:`all_gather_cost`, :func:`ps_cost`,
:func:`byteps_seconds`, :func:`pipeline_cost`, :func:`zero_memory`, :func:`amdahl_speedup`.
Their formulas and sources are in each docstring (and in ``shared/REFERENCES.md``).

Specs: :class:`ClusterSpec` (workers, :class:`StragglerSpec`, servers, :class:`NetworkSpec`,
model bytes) and :class:`PolicySpec` (BSP, ASP, SSP(s), local SGD, backup workers).

Simulation (loaded on first use): :func:`simulate` returns a :class:`Trace`; the functions of
:mod:`simlib.sim.metrics` read it; :func:`run_collective` and :func:`run_ps_round` run one
collective or parameter-server round event by event; :func:`load_scenario` reads YAML;
:func:`simulate_failures` runs a job with crashes, checkpoints and restarts (Young/Daly).

Example:
    >>> from simlib.sim import ClusterSpec, PolicySpec, simulate, staleness_histogram
    >>> trace = simulate(ClusterSpec(workers=2, step_seconds=[1.0, 3.0]), PolicySpec("asp"),
    ...                  steps=3)
    >>> staleness_histogram(trace)
    {0: 3, 1: 2, 2: 1}
"""

import importlib

from simlib.sim.cluster import DISTRIBUTIONS, ClusterSpec, NetworkSpec, StragglerSpec
from simlib.sim.collectives import (
    ALLREDUCE_ALGORITHMS,
    CollectiveCost,
    all_gather_cost,
    allreduce_cost,
    bytes_sent_by_rank,
    reduce_scatter_cost,
)
from simlib.sim.memory import ZERO_STAGES, MemoryCost, zero_memory
from simlib.sim.parameter_server import PSCost, byteps_seconds, ps_cost
from simlib.sim.pipeline import (
    PIPELINE_SCHEDULES,
    PipelineCost,
    PipelineOp,
    PipelineSchedule,
    pipeline_cost,
    pipeline_schedule,
)
from simlib.sim.policies import COMMS, POLICIES, PolicySpec
from simlib.sim.scaling import amdahl_speedup, scaling_efficiency, speedup

# Names that need numpy or SimPy: imported from their module the first time they are used.
_LAZY = {
    "simlib.sim.runner": ("METHODS", "simulate"),
    "simlib.sim.trace": ("CollectiveRecord", "Message", "Span", "Table", "Trace", "Update"),
    "simlib.sim.metrics": (
        "blocked_seconds_per_worker",
        "bytes_per_link",
        "bytes_per_server",
        "iterations_per_worker",
        "link_traffic",
        "makespan_seconds",
        "max_clock_lead",
        "nic_utilisation",
        "seconds_per_worker",
        "staleness",
        "staleness_histogram",
        "summarize",
        "throughput",
    ),
    "simlib.sim.collective_runs": (
        "COLLECTIVES",
        "CollectiveRun",
        "PSRoundRun",
        "run_collective",
        "run_ps_round",
    ),
    "simlib.sim.network": ("Network", "ServerTier", "max_min_rates"),
    "simlib.sim.stragglers": ("ComputeTimes",),
    "simlib.sim.scenario": ("Scenario", "load_scenario", "scenario_names"),
    "simlib.sim.failures": (
        "FailureSpec",
        "FailureTrace",
        "IntervalPoint",
        "JobSpec",
        "checkpoint_interval_sweep",
        "daly_interval_s",
        "expected_crashes",
        "expected_makespan_s",
        "mean_makespan_s",
        "simulate_failures",
        "young_interval_s",
    ),
    "simlib.sim.sweeps": (
        "ScalingPoint",
        "closed_form_step_seconds",
        "compare_architectures",
        "compare_policies",
        "policy_summary",
        "scaling_sweep",
    ),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "ALLREDUCE_ALGORITHMS",
    "COMMS",
    "DISTRIBUTIONS",
    "PIPELINE_SCHEDULES",
    "POLICIES",
    "ZERO_STAGES",
    "ClusterSpec",
    "CollectiveCost",
    "MemoryCost",
    "NetworkSpec",
    "PSCost",
    "PipelineCost",
    "PipelineOp",
    "PipelineSchedule",
    "PolicySpec",
    "StragglerSpec",
    "all_gather_cost",
    "allreduce_cost",
    "amdahl_speedup",
    "bytes_sent_by_rank",
    "byteps_seconds",
    "pipeline_cost",
    "pipeline_schedule",
    "ps_cost",
    "reduce_scatter_cost",
    "scaling_efficiency",
    "speedup",
    "zero_memory",
    *sorted(_WHERE),
]


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'simlib.sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
