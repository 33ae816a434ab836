"""Pipeline-parallel schedules: GPipe, 1F1B and interleaved 1F1B, as closed forms and as schedules.

p stages (devices), m microbatches, forward ``t_f`` and backward ``t_b`` seconds per microbatch
per stage. With v model chunks per device (interleaving) each chunk takes t_f/v and t_b/v.

- Makespan (GPipe, Huang et al. 2019; 1F1B, Narayanan et al. SC 2021):
  ``(m + p - 1)(t_f + t_b)``; interleaved: ``m (t_f + t_b) + (p - 1)(t_f + t_b) / v``.
- Bubble over ideal time (Megatron-LM): ``(p - 1) / (v m)``; bubble fraction of the makespan
  ``(p - 1) / (v m + p - 1)``.
- Activations in flight on the busiest device (microbatches of one whole stage): GPipe m,
  1F1B min(m, p); interleaved min(v m, 2(p-1) + (v-1) p + 1) / v (Megatron's warm-up count).

:func:`pipeline_schedule` builds the schedule op by op (each device runs its ops in the order
its schedule prescribes, each op as soon as its input is ready); its makespan and peak
activations equal :func:`pipeline_cost`.
"""

from __future__ import annotations

from dataclasses import dataclass

from simlib.errors import ConfigError
from simlib.sim._checks import check_choice, check_count, check_number

__all__ = [
    "PIPELINE_SCHEDULES",
    "PipelineCost",
    "PipelineOp",
    "PipelineSchedule",
    "pipeline_cost",
    "pipeline_schedule",
]

PIPELINE_SCHEDULES = ("gpipe", "1f1b", "interleaved-1f1b")


@dataclass(frozen=True)
class PipelineCost:
    """Closed-form makespan, bubble and activation memory of a pipeline schedule."""

    schedule: str
    stages: int
    microbatches: int
    interleave: int
    forward_s: float
    backward_s: float
    makespan_seconds: float
    ideal_seconds: float
    bubble_seconds: float
    bubble_fraction: float
    bubble_over_ideal: float
    activations_in_flight: float

    def as_dict(self) -> dict:
        """The fields as a plain dict (what ``simlib cost pipeline --json`` prints)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class PipelineOp:
    """One forward ("F") or backward ("B") pass of a microbatch through one model chunk."""

    device: int
    kind: str
    microbatch: int
    chunk: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class PipelineSchedule:
    """Every op of a schedule with its times, plus what it adds up to."""

    cost: PipelineCost
    ops: tuple[PipelineOp, ...]
    makespan_seconds: float
    activations_in_flight: float


def _check(stages, microbatches, forward_s, backward_s, interleave, schedule):
    check_choice("schedule", schedule, PIPELINE_SCHEDULES)
    p = check_count("stages", stages, 1)
    m = check_count("microbatches", microbatches, 1)
    v = check_count("interleave", interleave, 1)
    check_number("forward_s", forward_s, strict=True)
    check_number("backward_s", backward_s, strict=True)
    if v > 1 and schedule != "interleaved-1f1b":
        raise ConfigError(
            f"interleave={v} needs schedule 'interleaved-1f1b' (got {schedule!r}); "
            "use interleave=1 for gpipe and 1f1b"
        )
    if v > 1 and m % p:
        lower, upper = m - m % p, m - m % p + p
        use = f"{lower} or {upper}" if lower >= p else f"{upper}"
        raise ConfigError(
            f"microbatches={m} must be a multiple of stages={p} for the interleaved schedule "
            f"(Megatron-LM's rule); use {use}"
        )
    return p, m, v


def pipeline_cost(
    stages: int,
    microbatches: int,
    forward_s: float = 1.0,
    backward_s: float = 2.0,
    interleave: int = 1,
    schedule: str = "1f1b",
) -> PipelineCost:
    """Makespan, bubble and activations in flight of a pipeline schedule (closed form).

    Formulas: makespan ``(m + p - 1)(t_f + t_b)`` for GPipe and 1F1B (Huang et al. 2019;
    Narayanan et al. 2021), ``m (t_f + t_b) + (p - 1)(t_f + t_b)/v`` interleaved; bubble/ideal
    ``(p - 1)/(v m)`` (Megatron-LM); activations in flight GPipe m, 1F1B min(m, p).

    Args:
        stages: p, pipeline stages (devices).
        microbatches: m, microbatches per batch (a multiple of p when interleave > 1).
        forward_s: t_f, seconds of one microbatch's forward pass through one stage.
        backward_s: t_b, seconds of its backward pass.
        interleave: v, model chunks per device (only with "interleaved-1f1b").
        schedule: "gpipe", "1f1b" or "interleaved-1f1b".

    Returns:
        PipelineCost.

    Example:
        >>> pipeline_cost(4, 8).bubble_over_ideal  # (p-1)/m
        0.375
    """
    p, m, v = _check(stages, microbatches, forward_s, backward_s, interleave, schedule)
    per_mb = forward_s + backward_s
    ideal = m * per_mb
    bubble = (p - 1) * per_mb / v
    if schedule == "gpipe":
        in_flight = float(m)
    elif v == 1:
        in_flight = float(min(m, p))
    else:
        in_flight = min(v * m, 2 * (p - 1) + (v - 1) * p + 1) / v
    return PipelineCost(
        schedule=schedule,
        stages=p,
        microbatches=m,
        interleave=v,
        forward_s=forward_s,
        backward_s=backward_s,
        makespan_seconds=ideal + bubble,
        ideal_seconds=ideal,
        bubble_seconds=bubble,
        bubble_fraction=bubble / (ideal + bubble),
        bubble_over_ideal=bubble / ideal,
        activations_in_flight=in_flight,
    )


def _forward_order(p: int, m: int, v: int) -> list[tuple[int, int]]:
    """(microbatch, chunk) of each forward a device runs, in Megatron-LM's interleaved order."""
    order = []
    for k in range(m * v):
        group, within = divmod(k, p * v)
        order.append((group * p + within % p, within // p))
    return order


def _device_order(schedule: str, d: int, p: int, m: int, v: int) -> list[tuple[str, int, int]]:
    """The ops device ``d`` runs, in order: ("F"/"B", microbatch, chunk)."""
    if schedule == "gpipe":
        return [("F", i, 0) for i in range(m)] + [("B", i, 0) for i in range(m)]
    forwards = _forward_order(p, m, v)
    backwards = [(i, v - 1 - c) for i, c in forwards]
    total = m * v
    warmup = min(total, p - d - 1 if v == 1 else 2 * (p - d - 1) + (v - 1) * p)
    ops = [("F", *forwards[k]) for k in range(warmup)]
    for k in range(total - warmup):
        ops += [("F", *forwards[warmup + k]), ("B", *backwards[k])]
    ops += [("B", *backwards[k]) for k in range(total - warmup, total)]
    return ops


def _dependency(kind: str, i: int, stage: int, last: int) -> tuple[str, int, int] | None:
    """The op whose output (kind, microbatch, virtual stage) needs."""
    if kind == "F":
        return ("F", i, stage - 1) if stage > 0 else None
    return ("B", i, stage + 1) if stage < last else ("F", i, stage)


def pipeline_schedule(
    stages: int,
    microbatches: int,
    forward_s: float = 1.0,
    backward_s: float = 2.0,
    interleave: int = 1,
    schedule: str = "1f1b",
) -> PipelineSchedule:
    """Run a pipeline schedule op by op and return every op's start and end.

    Each device runs its ops in its schedule's order (GPipe: all forwards then all backwards;
    1F1B: p - d - 1 warm-up forwards, then one forward one backward; interleaved: Megatron-LM's
    order over v chunks, chunk c of device d being virtual stage c p + d); an op starts when
    its device is free and its input (previous stage's forward or next stage's backward) is done.

    Example:
        >>> pipeline_schedule(2, 2, 1.0, 1.0, schedule="gpipe").makespan_seconds
        6.0
    """
    p, m, v = _check(stages, microbatches, forward_s, backward_s, interleave, schedule)
    cost = pipeline_cost(p, m, forward_s, backward_s, v, schedule)
    orders = [_device_order(schedule, d, p, m, v) for d in range(p)]
    duration = {"F": forward_s / v, "B": backward_s / v}
    done: dict[tuple[str, int, int], float] = {}
    ops, cursor, free = [], [0] * p, [0.0] * p
    last = p * v - 1
    while len(ops) < 2 * m * v * p:
        progressed = False
        for d in range(p):
            while cursor[d] < len(orders[d]):
                kind, i, chunk = orders[d][cursor[d]]
                stage = chunk * p + d
                dep = _dependency(kind, i, stage, last)
                if dep is not None and dep not in done:
                    break
                start = max(free[d], done[dep] if dep is not None else 0.0)
                free[d] = done[(kind, i, stage)] = start + duration[kind]
                ops.append(PipelineOp(d, kind, i, chunk, start, free[d]))
                cursor[d] += 1
                progressed = True
        if not progressed:  # pragma: no cover - the orders above never deadlock
            raise RuntimeError(f"pipeline schedule {schedule!r} deadlocked")
    peak = max(_peak(orders[d]) for d in range(p)) / v
    return PipelineSchedule(cost, tuple(ops), max(free), peak)


def _peak(order: list[tuple[str, int, int]]) -> int:
    live = best = 0
    for kind, _, _ in order:
        live += 1 if kind == "F" else -1
        best = max(best, live)
    return best
