"""Engine runs summarised for people and programs: what the CLI prints and notebooks show.

``dp_summary`` trains one data-parallel style and the single-device reference on the same
global batches, and reports the losses, how far the parameters ended from the reference, what
the compiled program communicates and how long it took.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simlib.engine.comms import collectives, summarize
from simlib.engine.data_parallel import DPConfig, TrainReport, train_data_parallel
from simlib.engine.devices import request_devices
from simlib.engine.model import tree_max_abs_diff

__all__ = ["dp_summary", "dp_text", "report_fields"]


def report_fields(report: TrainReport) -> dict[str, Any]:
    """The JSON fields every engine run reports."""
    cfg = report.config
    return {
        "style": cfg.style,
        "devices": cfg.devices,
        "steps": cfg.steps,
        "batch": cfg.batch_size,
        "microbatches": cfg.microbatches,
        "dataset": cfg.dataset,
        "learning_rate": cfg.learning_rate,
        "final_loss": report.final_loss,
        "final_accuracy": report.final_accuracy,
        "losses": list(report.losses),
        "param_count": report.param_count,
        "param_bytes": report.param_bytes,
        "collectives": summarize(collectives(report.hlo_text)),
        "median_step_seconds": report.median_step_seconds,
        "compile_seconds": report.compile_seconds,
        "compiles_during_steps": report.compiles_during_steps,
        "resumed_from_step": report.resumed_from_step,
        "param_sha256": report.param_sha256,
    }


def dp_summary(
    *, style: str, devices: int, checkpoint=None, progress: bool = False, **config
) -> dict[str, Any]:
    """Train ``style`` on ``devices`` devices and the single-device reference; compare them.

    Keyword arguments are ``DPConfig`` fields (steps, batch_size, learning_rate, ...);
    ``checkpoint`` is a ``CheckpointConfig`` for the main run (the reference never checkpoints);
    ``progress`` draws a bar over each run's steps.
    Adds ``max_abs_param_diff_vs_single`` and ``platform`` to ``report_fields``.
    """
    cfg = DPConfig(style=style, devices=devices, **config)
    devs = request_devices(cfg.devices)
    report = train_data_parallel(cfg, devices=devs, checkpoint=checkpoint, progress=progress)
    if style == "single" and checkpoint is None:
        reference = report
    else:
        reference = train_data_parallel(
            DPConfig(style="single", devices=1, **config), progress=progress
        )
    out = report_fields(report)
    out["max_abs_param_diff_vs_single"] = tree_max_abs_diff(report.params, reference.params)
    out["platform"] = devs[0].platform
    return out


def dp_text(r: Mapping[str, Any]) -> str:
    """A few readable lines about a ``dp_summary`` result."""
    lines = [
        f"data parallel, style {r['style']}, {r['devices']} {r['platform']} device(s), "
        f"{r['steps']} steps of batch {r['batch']} ({r['dataset']})",
        f"  loss {r['losses'][0]:.4f} -> {r['final_loss']:.4f}, "
        f"accuracy {100 * r['final_accuracy']:.1f}%",
        f"  parameters: {r['param_count']:,} ({r['param_bytes']:,} bytes); "
        f"max |difference| from single device: {r['max_abs_param_diff_vs_single']:.2e}",
        f"  compile {r['compile_seconds'] * 1e3:.0f} ms, "
        f"median step {r['median_step_seconds'] * 1e3:.2f} ms; parameters sha256 "
        f"{r['param_sha256'][:16]}...",
    ]
    if r["resumed_from_step"]:
        lines.insert(1, f"  resumed from the checkpoint of step {r['resumed_from_step']}")
    if not r["collectives"]:
        lines.append("  collectives: none (one device sends nothing)")
    for c in r["collectives"]:
        lines.append(
            f"  {c['kind']}: {c['bytes']:,} bytes x {c['count']} per step over {c['group_size']} "
            f"devices; ring sends {c['ring_bytes_sent_per_device']:,.0f} bytes per device"
        )
    return "\n".join(lines)
