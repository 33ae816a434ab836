"""Synchronous training over an all-reduce: BSP data parallelism and local SGD.

Every worker computes; at a sync point (every step for BSP, every H steps for local SGD) it
waits at a barrier (``blocked``) until the last worker arrives; then all run one all-reduce
(``communicate``) and the next step starts when it has completed on every rank.

Two ways to get the same trace:

- `build_sync_events` runs it in SimPy, the all-reduce chunk by chunk over a max-min fair
  :class:`simlib.sim.network.Network` (its chunks are in ``messages``);
- :func:`run_sync_fast` computes it step by step with numpy: a step's barrier is
  ``max_w(start + compute[w])`` and the all-reduce takes its closed form (the event-level run
  takes exactly that, see ``test_sim_collectives``). It is the same trace, minus the chunks,
  and runs 1,024 workers x 1,000 steps in well under a second.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from simlib.sim.cluster import ClusterSpec
from simlib.sim.collective_runs import start_collective
from simlib.sim.collectives import allreduce_cost
from simlib.sim.network import Network
from simlib.sim.policies import PolicySpec
from simlib.sim.stragglers import ComputeTimes
from simlib.sim.trace import CollectiveRecord, Span, Table, TraceBuilder, Update

__all__ = ["build_sync_events", "run_sync_fast", "sync_points"]

_COMPUTE, _COMMUNICATE, _BLOCKED = 0, 1, 2
_SERVER, _LOCAL = 0, 1
_ALLREDUCE = CollectiveRecord.KINDS.index("all-reduce")


def sync_points(policy: PolicySpec, step: int, steps: float) -> bool:
    """Whether the workers all-reduce after ``step`` (BSP: always; local SGD: every H)."""
    if policy.name != "local-sgd":
        return True
    return (step + 1) % policy.local_steps == 0 or step == steps - 1


class _SyncRun:
    """The SimPy version: worker processes, a barrier per sync point, event-level all-reduce."""

    def __init__(self, env, cluster, policy, times, builder, steps):
        self.env, self.cluster, self.policy, self.times = env, cluster, policy, times
        self.builder, self.steps, self.n = builder, steps, cluster.workers
        net = cluster.network
        self.net = Network(
            env, [net.worker_bandwidth_bytes_per_s] * self.n, net.latency_s, builder.messages
        )
        self.arrived: dict[int, list[tuple[int, float]]] = {}
        self.released: dict[int, simpy.Event] = {}
        self.averages = 0
        self.local = policy.name == "local-sgd"

    def worker(self, w: int):
        step, spans = 0, self.builder.spans.rows
        while step < self.steps:
            start = self.env.now
            yield self.env.timeout(self.times.seconds(step, w))
            end = self.env.now
            spans.append((w, _COMPUTE, step, start, end))
            self._update(w, step, start, end)
            if sync_points(self.policy, step, self.steps):
                yield from self._sync(w, step, end)
            step += 1

    def _update(self, w: int, step: int, start: float, end: float) -> None:
        if self.local:
            v = self.averages
            row = (w, step, v, v, start, start, end, end, True, step * self.n + w, _LOCAL)
            self.builder.updates.rows.append(row)

    def _sync(self, w: int, step: int, end: float):
        released = self.released.setdefault(step, self.env.event())
        arrived = self.arrived.setdefault(step, [])
        arrived.append((w, end))
        if len(arrived) == self.n:  # the last one in: the barrier opens now
            for v, v_end in self.arrived.pop(step):
                if self.env.now > v_end:
                    self.builder.spans.rows.append((v, _BLOCKED, step, v_end, self.env.now))
            self.env.process(self._allreduce(step, released))
        barrier_s, done_s = yield released
        if self.cluster.communicates:
            self.builder.spans.rows.append((w, _COMMUNICATE, step, barrier_s, done_s))
        if not self.local:
            row = (
                w,
                step,
                step,
                step,
                self._read_s[w],
                self._compute[w][0],
                self._compute[w][1],
                done_s,
                True,
                step,
                _SERVER,
            )
            self.builder.updates.rows.append(row)

    def _allreduce(self, step: int, released: simpy.Event):
        barrier_s, cluster = self.env.now, self.cluster
        if cluster.communicates:
            yield start_collective(
                self.env,
                self.net,
                list(range(self.n)),
                "all-reduce",
                self.policy.algorithm,
                cluster.model_bytes,
                0.0,
                self.builder,
                step,
                spans=False,
            )
        else:
            cid = len(self.builder.collectives.rows)
            self.builder.collectives.rows.append(
                (cid, _ALLREDUCE, self._algorithm, step, self.n, 0.0, barrier_s, barrier_s)
            )
        self.averages += 1
        released.succeed((barrier_s, self.env.now))

    @property
    def _algorithm(self) -> int:
        return CollectiveRecord.ALGORITHMS.index(self.policy.algorithm)


class _BSPRun(_SyncRun):
    """BSP all-reduce needs each worker's read and compute times for its update row."""

    def __init__(self, *args):
        super().__init__(*args)
        self._read_s = [0.0] * self.n
        self._compute = [(0.0, 0.0)] * self.n

    def _update(self, w, step, start, end):
        self._read_s[w], self._compute[w] = start, (start, end)


def build_sync_events(
    cluster: ClusterSpec, policy: PolicySpec, *, steps: int | None, seed: int, meta: dict
) -> tuple[simpy.Environment, TraceBuilder]:
    """Set up BSP all-reduce or local SGD in SimPy: the environment to run, and its trace."""
    env = simpy.Environment()
    builder = TraceBuilder(meta)
    times = ComputeTimes(cluster.step_seconds, cluster.stragglers, seed)
    cls = _SyncRun if policy.name == "local-sgd" else _BSPRun
    run = cls(env, cluster, policy, times, builder, math.inf if steps is None else steps)
    for w in range(cluster.workers):
        env.process(run.worker(w))
    return env, builder


def _timeline(cluster, policy, times, steps, until_s, comm_s):
    """Per step: every worker's start and end, and the barrier and all-reduce end (nan: none)."""
    n = cluster.workers
    starts, ends, barriers, dones = [], [], [], []
    start = np.zeros(n)
    step = 0
    while step < steps and (until_s is None or start.min() < until_s):
        end = start + times.row(step)
        starts.append(start)
        ends.append(end)
        if sync_points(policy, step, steps):
            barrier = end.max()
            done = barrier + comm_s if cluster.communicates else barrier
            start = np.full(n, done)
        else:
            barrier = done = math.nan
            start = end
        barriers.append(barrier)
        dones.append(done)
        step += 1
    shape = (step, n)
    return (np.reshape(starts, shape), np.reshape(ends, shape), np.array(barriers), np.array(dones))


def _tables(cluster, policy, timeline, meta):
    starts, ends, barriers, dones = timeline
    t_count, n = starts.shape
    step = np.repeat(np.arange(t_count), n)
    actor = np.tile(np.arange(n), t_count)
    sync = np.repeat(~np.isnan(barriers), n)
    bar, done = np.repeat(barriers, n), np.repeat(dones, n)
    start, end = starts.ravel(), ends.ravel()
    blocked = sync & (bar > end)
    parts = [
        (actor, _COMPUTE, step, start, end),
        (actor[blocked], _BLOCKED, step[blocked], end[blocked], bar[blocked]),
    ]
    if cluster.communicates:
        parts.append((actor[sync], _COMMUNICATE, step[sync], bar[sync], done[sync]))
    spans = {
        "actor": np.concatenate([p[0] for p in parts]),
        "kind": np.concatenate([np.full(len(p[0]), p[1]) for p in parts]),
        "step": np.concatenate([p[2] for p in parts]),
        "start_s": np.concatenate([p[3] for p in parts]),
        "end_s": np.concatenate([p[4] for p in parts]),
    }
    return (
        Table(Span, spans),
        _updates(policy, starts, ends, dones, barriers),
        _collectives(cluster, policy, barriers, dones),
    )


def _updates(policy, starts, ends, dones, barriers) -> Table:
    t_count, n = starts.shape
    step = np.repeat(np.arange(t_count), n)
    start, end = starts.ravel(), ends.ravel()
    if policy.name == "local-sgd":
        averages = np.concatenate([[0], np.cumsum(~np.isnan(barriers))[:-1]]) if t_count else []
        version = np.repeat(np.asarray(averages, dtype=np.int64), n)
        applied_s, apply_id, scope = end, step * n + np.tile(np.arange(n), t_count), _LOCAL
    else:
        version, applied_s, apply_id, scope = step, np.repeat(dones, n), step, _SERVER
    columns = {
        "worker": np.tile(np.arange(n), t_count),
        "step": step,
        "version_read": version,
        "version_applied": version,
        "read_s": start,
        "compute_start_s": start,
        "compute_end_s": end,
        "applied_s": applied_s,
        "applied": np.ones(len(step), bool),
        "apply_id": apply_id,
        "scope": np.full(len(step), scope),
    }
    return Table(Update, columns)


def _collectives(cluster, policy, barriers, dones) -> Table:
    sync = np.flatnonzero(~np.isnan(barriers))
    count = len(sync)
    columns = {
        "id": np.arange(count),
        "kind": np.full(count, _ALLREDUCE),
        "algorithm": np.full(count, CollectiveRecord.ALGORITHMS.index(policy.algorithm)),
        "step": sync,
        "ranks": np.full(count, cluster.workers),
        "nbytes": np.full(count, float(cluster.model_bytes)),
        "start_s": barriers[sync],
        "end_s": dones[sync],
    }
    return Table(CollectiveRecord, columns)


def _before(table: Table, column: str, until_s: float | None) -> Table:
    return table if until_s is None else table.where(table[column] < until_s)


def run_sync_fast(
    cluster: ClusterSpec,
    policy: PolicySpec,
    *,
    steps: int | None,
    until_s: float | None,
    seed: int,
    meta: dict,
):
    """BSP all-reduce or local SGD computed step by step with numpy; the event path's trace.

    Returns (spans, updates, collectives) tables; the caller adds the (empty) messages.
    """
    times = ComputeTimes(cluster.step_seconds, cluster.stragglers, seed)
    net = cluster.network
    comm_s = 0.0
    if cluster.communicates:
        comm_s = allreduce_cost(
            policy.algorithm,
            cluster.workers,
            cluster.model_bytes,
            net.worker_bandwidth_bytes_per_s,
            net.latency_s,
        ).seconds
    limit = math.inf if steps is None else steps
    timeline = _timeline(cluster, policy, times, limit, until_s, comm_s)
    spans, updates, collectives = _tables(cluster, policy, timeline, meta)
    return (
        _before(spans, "end_s", until_s),
        _before(updates, "applied_s", until_s),
        _before(collectives, "end_s", until_s),
    )
