"""The instrumented cluster simulator: closed forms, and SimPy runs that reproduce them.

Closed forms (pure Python, import nothing heavy): :func:`allreduce_cost`,
:func:`reduce_scatter_cost`, :func:`all_gather_cost`, :func:`ps_cost`, :func:`byteps_seconds`,
:func:`pipeline_cost`, :func:`zero_memory`, :func:`amdahl_speedup`. Their formulas and sources
are in each docstring.
"""

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
from simlib.sim.scaling import amdahl_speedup, scaling_efficiency, speedup

__all__ = [
    "ALLREDUCE_ALGORITHMS",
    "PIPELINE_SCHEDULES",
    "ZERO_STAGES",
    "CollectiveCost",
    "MemoryCost",
    "PSCost",
    "PipelineCost",
    "PipelineOp",
    "PipelineSchedule",
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
]
