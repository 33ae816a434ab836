"""Model-parallel runs summarised for people and programs: what ``simlib engine tp|pp|zero`` print.

Each ``*_summary`` trains one strategy and the single-device reference (same network, optimizer
and batches) and returns the fields of ``simlib engine dp --json`` (``report.report_fields``)
plus ``max_abs_param_diff_vs_single``, ``memory_per_device`` (bytes by category, measured) next
to ``memory_model_per_device``, the analytic collectives next to the compiled ones
(``collective_bytes``), and for the pipeline ``bubble_fraction_measured`` (step times) and
``bubble_fraction_program`` (idle ticks counted in the compiled program) next to the formula.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax

from simlib.engine.model import tree_max_abs_diff
from simlib.engine.pipeline import PPConfig, train_pipeline
from simlib.engine.report import report_fields
from simlib.engine.strategy import StrategyReport, compare_collectives, reference_train
from simlib.engine.tensor_parallel import TPConfig, train_tensor_parallel
from simlib.engine.zero import ZeROConfig, train_zero

__all__ = ["pp_summary", "strategy_fields", "strategy_text", "tp_summary", "zero_summary"]

_TIMING = ("step_seconds", "step_seconds_2m", "tick_seconds")


def strategy_fields(report: StrategyReport, reference_params) -> dict[str, Any]:
    """``report_fields`` plus what the model-parallel strategies add (see the module docstring)."""
    out = report_fields(report)
    cfg = report.config
    out.update({
        "optimizer": cfg.optimizer,
        "hidden": list(cfg.hidden),
        "processes": jax.process_count(),
        "platform": jax.devices()[0].platform,
        "max_abs_param_diff_vs_single": tree_max_abs_diff(report.params, reference_params),
        "memory_per_device": report.memory.as_dict(),
        "memory_model_per_device": dict(report.extras.get("memory_model", {})),
        "collectives_analytic": list(report.analytic),
        "collective_bytes": compare_collectives(report.analytic, out["collectives"]),
    })  # fmt: skip
    if "mesh" in report.extras:
        out["mesh"] = dict(report.extras["mesh"])
    return out


def tp_summary(*, progress: bool = False, **config) -> dict[str, Any]:
    """Train ``TPConfig(**config)`` and the single-device reference; compare them."""
    cfg = TPConfig(**config)
    report = train_tensor_parallel(cfg, progress=progress)
    return strategy_fields(report, reference_train(cfg)[0])


def pp_summary(*, measure: bool = True, progress: bool = False, **config) -> dict[str, Any]:
    """Train ``PPConfig(**config)``; adds the bubble: measured, of the schedule, the formula."""
    from simlib.sim import pipeline_cost

    cfg = PPConfig(**config)
    report = train_pipeline(cfg, measure=measure, progress=progress)
    out = strategy_fields(report, reference_train(cfg)[0])
    formula = pipeline_cost(cfg.stages, cfg.microbatches, schedule=cfg.schedule)
    out.update({
        "stages": cfg.stages,
        "schedule": cfg.schedule,
        "bubble_fraction_measured": report.extras.get("bubble_fraction_measured"),
        "bubble_fraction_schedule": report.extras["bubble_fraction_schedule"],
        "bubble_fraction_program": report.extras["bubble_fraction_program"],
        "bubble_fraction_formula": formula.bubble_fraction,
        "bubble_timing": {k: report.extras[k] for k in _TIMING if k in report.extras},
    })  # fmt: skip
    return out


def zero_summary(*, progress: bool = False, **config) -> dict[str, Any]:
    """Train ``ZeROConfig(**config)`` and the single-device reference (same optimizer)."""
    cfg = ZeROConfig(**config)
    report = train_zero(cfg, progress=progress)
    out = strategy_fields(report, reference_train(cfg)[0])
    out["stage"] = cfg.stage
    out["step_style"] = cfg.step_style
    out["replicated_arrays"] = report.extras["replicated_arrays"]
    return out


def _kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def strategy_text(r: Mapping[str, Any]) -> str:
    """A few readable lines about a ``tp_summary``/``pp_summary``/``zero_summary`` result."""
    mesh = " x ".join(f"{k} {v}" for k, v in r.get("mesh", {"data": r["devices"]}).items())
    lines = [
        f"{r['style']}: {r['devices']} {r['platform']} device(s) in {r['processes']} process(es), "
        f"mesh {mesh}; {r['steps']} steps of batch {r['batch']} ({r['dataset']}, {r['optimizer']})",
        f"  loss {r['losses'][0]:.4f} -> {r['final_loss']:.4f}, "
        f"accuracy {100 * r['final_accuracy']:.1f}%; max |difference| from single device: "
        f"{r['max_abs_param_diff_vs_single']:.2e}",
        f"  compile {r['compile_seconds'] * 1e3:.0f} ms, median step "
        f"{r['median_step_seconds'] * 1e3:.2f} ms",
        "  memory per device (measured | model): " + ", ".join(
            f"{k} {_kib(v)}" + (f" | {_kib(r['memory_model_per_device'][k])}"
                                if k in r["memory_model_per_device"] else "")
            for k, v in r["memory_per_device"].items()),
    ]  # fmt: skip
    for c in r["collective_bytes"]:
        lines.append(
            f"  {c['kind']} over {c['group_size']}: {c['compiled_bytes']:,} bytes per step "
            f"compiled, {c['analytic_bytes']:,} analytic ({'match' if c['match'] else 'DIFFER'})"
        )
    if "bubble_fraction_formula" in r:
        measured = r["bubble_fraction_measured"]
        lines.append(
            f"  bubble: formula (S-1)/(M+S-1) = {r['bubble_fraction_formula']:.3f}, idle ticks "
            f"of the compiled program {r['bubble_fraction_program']:.3f}, measured "
            + (f"{measured:.3f} (step times; includes the step's fixed costs)"
               if measured is not None else "not timed")
        )  # fmt: skip
    return "\n".join(lines)
