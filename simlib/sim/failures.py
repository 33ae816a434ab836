"""Machines fail: a synchronous job with checkpoints, crashes, lost work and restarts.

A job of ``steps`` steps runs on ``nodes`` machines (workers and servers); any crash stops all of
it (a synchronous job waits for everyone). Each node fails as a Poisson process with mean time
between failures ``node_mtbf_s``, so the job fails at rate ``nodes / node_mtbf_s``: its MTBF is
``M = node_mtbf_s / nodes``. After every ``checkpoint_every_steps`` steps the job writes a
checkpoint taking ``checkpoint_s`` (C). A crash loses the work since the last *finished*
checkpoint (a checkpoint being written when the crash hits is lost too); the job then restarts,
which takes ``restart_s`` (R) and can itself be hit by a crash.

Closed forms (M the job's MTBF, a the length of a segment of work plus its checkpoint):

- expected time of one segment, failures possible at any moment (Daly 2006, FGCS 22):
  ``E[a] = M e^{R/M} (e^{a/M} - 1)``; the job's expected makespan is the sum over segments.
- Young (1974): the compute time between checkpoints that minimises it is about
  ``tau = sqrt(2 C M)``; Daly's higher-order estimate is
  ``tau = sqrt(2 C M) (1 + sqrt(C/(2M))/3 + C/(18 M)) - C`` for ``C < 2M`` (else ``M``).

``simulate_failures`` runs the job in SimPy and returns a ``FailureTrace`` whose spans say what
each second was spent on: ``compute`` (kept), ``lost`` (computed, then rolled back),
``checkpoint``, ``lost-checkpoint`` (a write the crash cut short) and ``restart``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from simlib.errors import ConfigError
from simlib.sim._checks import check_count, check_number
from simlib.sim.trace import Table, TableBuilder

__all__ = [
    "FailureEvent",
    "FailureSpec",
    "FailureSpan",
    "FailureTrace",
    "IntervalPoint",
    "JobSpec",
    "checkpoint_interval_sweep",
    "MAX_EXPECTED_CRASHES",
    "daly_interval_s",
    "expected_crashes",
    "expected_makespan_s",
    "mean_makespan_s",
    "simulate_failures",
    "young_interval_s",
]


# A run expected to meet more crashes than this is refused: it would take minutes to simulate
# and says nothing the closed form does not (its makespan is astronomically long).
MAX_EXPECTED_CRASHES = 5_000


@dataclass(frozen=True)
class JobSpec:
    """The work: ``steps`` steps of ``step_seconds``, a checkpoint every K steps."""

    steps: int
    step_seconds: float
    checkpoint_every_steps: int

    def __post_init__(self) -> None:
        check_count("steps", self.steps, 1)
        check_number("step_seconds", self.step_seconds, strict=True)
        check_count("checkpoint_every_steps", self.checkpoint_every_steps, 1)

    def segments_s(self) -> list[float]:
        """Compute seconds of each segment between checkpoints (the last may be shorter)."""
        k, full = self.checkpoint_every_steps, self.steps // self.checkpoint_every_steps
        rest = self.steps - full * k
        return [k * self.step_seconds] * full + ([rest * self.step_seconds] if rest else [])


@dataclass(frozen=True)
class FailureSpec:
    """How the machines fail and what a checkpoint and a restart cost."""

    nodes: int
    node_mtbf_s: float
    checkpoint_s: float
    restart_s: float

    def __post_init__(self) -> None:
        check_count("nodes", self.nodes, 1)
        check_number("node_mtbf_s", self.node_mtbf_s, strict=True)
        check_number("checkpoint_s", self.checkpoint_s)
        check_number("restart_s", self.restart_s)

    @property
    def job_mtbf_s(self) -> float:
        """M = node MTBF / nodes: any node's crash stops the job."""
        return self.node_mtbf_s / self.nodes


def young_interval_s(checkpoint_s: float, mtbf_s: float) -> float:
    """Young (1974): compute seconds between checkpoints ``sqrt(2 C M)``."""
    check_number("checkpoint_s", checkpoint_s)
    check_number("mtbf_s", mtbf_s, strict=True)
    return math.sqrt(2 * checkpoint_s * mtbf_s)


def daly_interval_s(checkpoint_s: float, mtbf_s: float) -> float:
    """Daly (2006): ``sqrt(2CM)(1 + sqrt(C/2M)/3 + C/18M) - C`` for C < 2M, else M."""
    c, m = checkpoint_s, mtbf_s
    if c >= 2 * m:
        return m
    return young_interval_s(c, m) * (1 + math.sqrt(c / (2 * m)) / 3 + c / (18 * m)) - c


def expected_makespan_s(job: JobSpec, failures: FailureSpec) -> float:
    """Daly's expected makespan: ``sum_segments M e^{R/M} (e^{(tau_i + C)/M} - 1)``.

    ``math.inf`` when a segment is so long that finishing it without a crash is hopeless
    (``(tau + C + R) / M`` beyond what a float can exponentiate).
    """
    m, c, r = failures.job_mtbf_s, failures.checkpoint_s, failures.restart_s
    if any((tau + c + r) / m > 700 for tau in job.segments_s()):
        return math.inf
    return sum(m * math.exp(r / m) * math.expm1((tau + c) / m) for tau in job.segments_s())


def expected_crashes(job: JobSpec, failures: FailureSpec) -> float:
    """About how many crashes the job meets: ``sum_segments e^{(tau_i + C + R)/M} - 1``.

    Finishing a segment of length ``a`` needs on average ``e^{a/M} - 1`` crashes (each attempt
    survives with probability ``e^{-a/M}``); restarts that can crash too add ``R`` to ``a``.
    """
    m, c, r = failures.job_mtbf_s, failures.checkpoint_s, failures.restart_s
    exponents = [(tau + c + r) / m for tau in job.segments_s()]
    return math.inf if max(exponents) > 700 else sum(math.expm1(x) for x in exponents)


@dataclass(frozen=True)
class FailureSpan:
    """What the job did from ``start_s`` to ``end_s``; steps ``first_step`` .. ``last_step``."""

    KINDS: ClassVar[tuple[str, ...]] = (
        "compute", "lost", "checkpoint", "lost-checkpoint", "restart",
    )  # fmt: skip
    kind: str
    first_step: int
    last_step: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class FailureEvent:
    """Node ``node`` crashed at ``time_s``; ``lost_s`` seconds of work were rolled back."""

    node: int
    time_s: float
    lost_s: float


@dataclass(frozen=True, eq=False)
class FailureTrace:
    """Everything one failure-prone run did."""

    spans: Table
    failures: Table
    meta: dict

    def seconds(self, kind: str) -> float:
        """Total seconds of spans of ``kind``."""
        mask = self.spans["kind"] == self.spans.code("kind", kind)
        return float((self.spans["end_s"] - self.spans["start_s"])[mask].sum())

    @property
    def makespan_s(self) -> float:
        return float(self.spans["end_s"].max()) if len(self.spans) else 0.0


class _Job:
    """The job as a SimPy process: segments of compute and a checkpoint, until all steps."""

    def __init__(self, env, job: JobSpec, failures: FailureSpec, spans: TableBuilder):
        self.env, self.job, self.failures, self.spans = env, job, failures, spans
        self.codes = {k: spans.code("kind", k) for k in FailureSpan.KINDS}
        self.done_steps = 0
        self.lost: list[float] = []

    def _span(self, kind: str, first: int, last: int, start: float) -> None:
        self.spans.rows.append((self.codes[kind], first, last, start, self.env.now))

    def run(self):
        import simpy

        while self.done_steps < self.job.steps:
            first = self.done_steps
            last = min(first + self.job.checkpoint_every_steps, self.job.steps) - 1
            start, stage = self.env.now, "compute"
            try:
                yield self.env.timeout((last - first + 1) * self.job.step_seconds)
                written, stage = self.env.now, "checkpoint"
                yield self.env.timeout(self.failures.checkpoint_s)
            except simpy.Interrupt:
                self._crashed(first, last, start, stage)
                yield from self._restart()
                continue
            self.spans.rows.append((self.codes["compute"], first, last, start, written))
            self._span("checkpoint", first, last, written)
            self.done_steps = last + 1

    def _crashed(self, first: int, last: int, start: float, stage: str) -> None:
        now = self.env.now
        if stage == "checkpoint":
            compute_end = start + (last - first + 1) * self.job.step_seconds
            self.spans.rows.append((self.codes["lost"], first, last, start, compute_end))
            self._span("lost-checkpoint", first, last, compute_end)
        else:
            self._span("lost", first, last, start)
        self.lost.append(now - start)

    def _restart(self):
        import simpy

        while True:
            start = self.env.now
            try:
                yield self.env.timeout(self.failures.restart_s)
                self._span("restart", self.done_steps, self.done_steps, start)
                return
            except simpy.Interrupt:  # crashed while restarting: start the restart again
                self._span("restart", self.done_steps, self.done_steps, start)
                self.lost.append(0.0)


def _crashes(env, job_process, failures: FailureSpec, rng, times: Sequence[float] | None, log):
    """Interrupt the job at each crash: drawn (rate nodes / node MTBF) or given."""
    if times is not None:
        schedule = iter(sorted(float(t) for t in times))
        gaps = ((t, 0) for t in schedule)
    else:
        rate = failures.nodes / failures.node_mtbf_s
        gaps = _drawn(rng, rate, failures.nodes)
    previous = 0.0
    for when, node in gaps:
        yield env.timeout(max(when - previous, 0.0))
        previous = when
        if not job_process.is_alive:
            return
        log.append((node, env.now))
        job_process.interrupt(node)


def _drawn(rng, rate: float, nodes: int):
    """Crash times of ``nodes`` independent Poisson processes, merged: (time, node)."""
    now = 0.0
    while True:
        now += rng.exponential(1.0 / rate)
        yield now, int(rng.integers(nodes))


def simulate_failures(
    job: JobSpec,
    failures: FailureSpec,
    *,
    seed: int = 0,
    failure_times_s: Sequence[float] | None = None,
) -> FailureTrace:
    """Run the job with crashes (drawn from ``seed``, or at ``failure_times_s``) in SimPy.

    Example:
        >>> trace = simulate_failures(JobSpec(4, 1.0, 2), FailureSpec(1, 1e9, 0.5, 2.0),
        ...                           failure_times_s=[1.5])
        >>> trace.makespan_s        # 1.5 lost, 2 restart, then 2 x (2 compute + 0.5 checkpoint)
        8.5
    """
    import simpy

    if failure_times_s is None and expected_crashes(job, failures) > MAX_EXPECTED_CRASHES:
        raise ConfigError(
            f"checkpoint_every_steps={job.checkpoint_every_steps}: with a job MTBF of "
            f"{failures.job_mtbf_s:.3g} s a segment of {max(job.segments_s()):.3g} s would need "
            f"about {expected_crashes(job, failures):.3g} crashes to finish; checkpoint more "
            "often (Young's interval is sqrt(2 C M))"
        )
    if failure_times_s is not None and any(not t >= 0 for t in failure_times_s):
        raise ConfigError(f"failure_times_s must be times >= 0, got {list(failure_times_s)!r}")
    env = simpy.Environment()
    spans = TableBuilder(FailureSpan)
    runner = _Job(env, job, failures, spans)
    process = env.process(runner.run())
    log: list[tuple[int, float]] = []
    rng = np.random.default_rng(seed)
    env.process(_crashes(env, process, failures, rng, failure_times_s, log))
    env.run(until=process)
    events = TableBuilder(FailureEvent)
    events.rows = [(node, t, lost) for (node, t), lost in zip(log, runner.lost, strict=True)]
    meta = {
        "steps": job.steps, "step_seconds": job.step_seconds,
        "checkpoint_every_steps": job.checkpoint_every_steps, "nodes": failures.nodes,
        "node_mtbf_s": failures.node_mtbf_s, "job_mtbf_s": failures.job_mtbf_s,
        "checkpoint_s": failures.checkpoint_s, "restart_s": failures.restart_s, "seed": seed,
    }  # fmt: skip
    return FailureTrace(spans.build(), events.build(), meta)


def mean_makespan_s(job: JobSpec, failures: FailureSpec, *, runs: int = 200, seed: int = 0):
    """(mean, standard error) of the makespan over ``runs`` seeded runs."""
    check_count("runs", runs, 2)
    seeds = np.random.SeedSequence(seed).generate_state(runs)
    spans = [simulate_failures(job, failures, seed=int(s)).makespan_s for s in seeds]
    return float(np.mean(spans)), float(np.std(spans, ddof=1) / math.sqrt(runs))


@dataclass(frozen=True)
class IntervalPoint:
    """One checkpoint interval: simulated mean makespan (with its error) and Daly's value."""

    every_steps: int
    interval_s: float
    mean_makespan_s: float
    stderr_s: float
    expected_makespan_s: float


def checkpoint_interval_sweep(
    steps: int, step_seconds: float, failures: FailureSpec, every_steps: Sequence[int], *,
    runs: int = 200, seed: int = 0, progress: bool = False,
) -> list[IntervalPoint]:  # fmt: skip
    """Mean makespan for each checkpoint interval, simulated and from the closed form."""
    from tqdm.auto import tqdm

    points = []
    for k in tqdm(list(every_steps), desc="intervals", disable=not progress, leave=False):
        job = JobSpec(steps, step_seconds, int(k))
        mean, err = mean_makespan_s(job, failures, runs=runs, seed=seed)
        points.append(IntervalPoint(int(k), k * step_seconds, mean, err,
                                    expected_makespan_s(job, failures)))  # fmt: skip
    return points
