"""Training through parameter servers, event by event: BSP, ASP, SSP(s) and backup workers.

Each worker repeats one iteration: wait until the policy lets it start (``blocked``), pull the
parameters from the k shards (reading the servers' current version), compute its gradient,
push it to the k shards. The servers then apply it:

- ASP and SSP apply each gradient on arrival (version + 1 each);
- BSP collects all N gradients of a step and applies them as one update (version + 1 a step);
- backup workers apply the first N - b gradients of the open round as one update; a gradient
  for a round already closed is dropped.

A worker's clock is its number of pushed iterations. SSP(s) lets a worker at clock c start only
while ``c - min(clocks) <= s`` (Ho et al. 2013); BSP waits by the same rule with s = 0 (but it
applies a step's gradients as one update, so unlike SSP(0) it has no staleness); ASP never
waits; a backup worker waits until the round it pushed to has closed. Under BSP and backup
workers a worker also waits for the last round to close (its ``blocked`` span has step =
steps), as BSP over an all-reduce waits at its last barrier. Pushes and pulls are messages split
over the shards on a :class:`simlib.sim.network.ServerTier` each (max-min fair on every NIC).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import simpy

from simlib.sim.cluster import ClusterSpec
from simlib.sim.network import ServerTier
from simlib.sim.policies import PolicySpec
from simlib.sim.stragglers import ComputeTimes
from simlib.sim.trace import Message, Span, Table, TraceBuilder

__all__ = ["build_parameter_server"]

_COMPUTE, _COMMUNICATE, _BLOCKED = 0, 1, 2
_PUSH, _PULL = 0, 1
_SERVER_SCOPE = 0


class _Threshold:
    """Processes waiting for a counter that only grows by one to reach their level."""

    def __init__(self, env: simpy.Environment):
        self.env, self.value, self.waiting = env, 0, defaultdict(list)

    def wait(self, level: int) -> simpy.Event | None:
        """An event that fires when the counter reaches ``level`` (None if it already has)."""
        if self.value >= level:
            return None
        event = self.env.event()
        self.waiting[level].append(event)
        return event

    def increment(self) -> None:
        self.value += 1
        for event in self.waiting.pop(self.value, ()):
            event.succeed()


class _PSRun:
    """One parameter-server training run: the shared state and the worker processes."""

    def __init__(
        self,
        env,
        cluster: ClusterSpec,
        policy: PolicySpec,
        times: ComputeTimes,
        builder: TraceBuilder,
        steps: float,
    ):
        self.env, self.cluster, self.policy, self.times = env, cluster, policy, times
        self.steps, self.n, self.k = steps, cluster.workers, cluster.servers
        self.version = 0
        self.clock_count = defaultdict(int, {0: self.n})  # workers at each clock
        self.min_clock = _Threshold(env)  # the smallest clock
        self.rounds = _Threshold(env)  # versions applied (BSP and backup rounds)
        self.pending: dict[int, list[tuple]] = defaultdict(list)
        net = cluster.network
        self.tiers = [
            ServerTier(env, net.worker_bandwidth_bytes_per_s, net.server_bandwidth, self.k)
            for _ in (_PUSH, _PULL)
        ]
        self.spans, self.updates, self.coflows = builder.spans.rows, builder.updates.rows, []
        self.arrive = {
            "asp": self._apply_now,
            "ssp": self._apply_now,
            "bsp": self._apply_all,
            "backup": self._apply_first,
        }[policy.name]
        self.ticks = policy.name in ("bsp", "ssp")

    # -- when may a worker start, and which step is it then -------------------------------
    def _gate(self, step: int) -> simpy.Event | None:
        """An event to wait for before starting ``step``, or None to start now."""
        if self.policy.name == "backup":
            return self.rounds.wait(step)
        if self.ticks:
            return self.min_clock.wait(step - int(self.policy.bound))
        return None

    def _join(self, step: int) -> int | None:
        """Backup workers join the round open now; the step to run, or None to stop."""
        if self.policy.name != "backup":
            return step
        return self.version if self.version < self.steps else None

    # -- one iteration ---------------------------------------------------------------------
    def worker(self, w: int):
        env, times, spans, coflows = self.env, self.times, self.spans, self.coflows
        push, pull = self.tiers
        rows = times.rows  # the draws as Python floats: a list that only grows
        model_bytes, latency_s = self.cluster.model_bytes, self.cluster.network.latency_s
        comm, gated = self.cluster.communicates, self.policy.name != "asp"
        backup, step = self.policy.name == "backup", 0
        while backup or step < self.steps:
            if gated and (gate := self._gate(step)) is not None:
                t0 = env.now
                yield gate
                if env.now > t0:  # released at the instant it arrived: it never waited
                    spans.append((w, _BLOCKED, step, t0, env.now))
            if backup and (step := self._join(step)) is None:
                return
            read_version, read_s = self.version, env.now
            if comm:
                got = yield pull.transfer(model_bytes, latency_s)
                coflows.append((w, _PULL, step, got, read_s, env.now))
            start = env.now
            try:
                seconds = rows[step][w]
            except IndexError:
                seconds = times.seconds(step, w)
            yield env.timeout(seconds)
            end = env.now
            spans.append((w, _COMPUTE, step, start, end))
            if comm:
                got = yield push.transfer(model_bytes, latency_s)
                coflows.append((w, _PUSH, step, got, end, env.now))
            self.arrive(w, step, read_version, read_s, start, end)
            step += 1
        if self.policy.name == "bsp" and (gate := self._gate(step)) is not None:
            # The last barrier: a worker is done when the last round closes, so it waits for
            # it like every round before (and like BSP over an all-reduce).
            t0 = env.now
            yield gate
            if env.now > t0:
                spans.append((w, _BLOCKED, step, t0, env.now))

    # -- the servers -----------------------------------------------------------------------
    def _apply_now(self, w, step, read_version, read_s, start, end) -> None:
        """ASP and SSP: apply the gradient on arrival."""
        version = self.version
        self.updates.append(
            (
                w,
                step,
                read_version,
                version,
                read_s,
                start,
                end,
                self.env.now,
                True,
                version,
                _SERVER_SCOPE,
            )
        )
        self.version = version + 1
        if self.ticks:
            self._tick(step)

    def _apply_all(self, w, step, *read) -> None:
        """BSP: apply the step's N gradients together once all have arrived."""
        self._collect(w, step, read, self.n)
        self._tick(step)

    def _apply_first(self, w, step, *read) -> None:
        """Backup workers: the first N - b gradients of the open round; drop late ones."""
        if step == self.version:
            self._collect(w, step, read, self.n - self.policy.backup_workers)
        else:
            self.updates.append(
                (w, step, read[0], self.version, *read[1:], self.env.now, False, -1, _SERVER_SCOPE)
            )

    def _collect(self, w: int, step: int, read: tuple, needed: int) -> None:
        pending = self.pending[step]
        pending.append((w, step, read))
        if len(pending) == needed:
            version, now = self.version, self.env.now
            for w_, step_, (read_version, *times) in self.pending.pop(step):
                self.updates.append(
                    (w_, step_, read_version, version, *times, now, True, version, _SERVER_SCOPE)
                )
            self.version = version + 1
            self.rounds.increment()

    def _tick(self, step: int) -> None:
        """A worker finished iteration ``step``: its clock moves to step + 1."""
        counts = self.clock_count
        counts[step] -= 1
        counts[step + 1] += 1
        while counts[self.min_clock.value] == 0 and self.min_clock.value < step + 1:
            self.min_clock.increment()


def build_parameter_server(
    cluster: ClusterSpec, policy: PolicySpec, *, steps: int | None, seed: int, meta: dict
) -> tuple[simpy.Environment, TraceBuilder]:
    """Set up ``policy`` through parameter servers: the environment to run, and its trace.

    ``steps``: iterations per worker (rounds for backup workers); None runs until stopped.
    """
    env = simpy.Environment()
    builder = TraceBuilder(meta)
    times = ComputeTimes(cluster.step_seconds, cluster.stragglers, seed)
    run = _PSRun(env, cluster, policy, times, builder, math.inf if steps is None else steps)
    for w in range(cluster.workers):
        env.process(run.worker(w))
    packed = []  # the coflows as one structured array, made once when the trace is built

    def coflows() -> np.ndarray:
        if not packed:
            packed.append(np.fromiter(run.coflows, dtype=_COFLOW, count=len(run.coflows)))
        return packed[0]

    builder.add_messages(lambda: _shard_messages(coflows(), cluster))
    builder.add_spans(lambda: _communicate_spans(coflows()))
    return env, builder


_COFLOW = np.dtype(
    [
        ("worker", np.int64),
        ("direction", np.int8),
        ("step", np.int64),
        ("received", np.float64),
        ("send_s", np.float64),
        ("recv_s", np.float64),
    ]
)


def _shard_messages(coflows: np.ndarray, cluster: ClusterSpec) -> Table:
    """Each push or pull as k messages, one per shard (M / k bytes each), built with numpy."""
    n, k, count = cluster.workers, cluster.servers, len(coflows)
    worker, direction, step, received, send_s, recv_s = (
        np.repeat(coflows[name], k) for name in _COFLOW.names
    )
    server = n + np.tile(np.arange(k), count)
    push = direction == _PUSH
    columns = {
        "src": np.where(push, worker, server),
        "dst": np.where(push, server, worker),
        "kind": direction,
        "step": step,
        "collective": np.full(count * k, -1),
        "nbytes": np.full(count * k, cluster.model_bytes / k),
        "received_bytes": received / k,
        "send_s": send_s,
        "start_s": send_s + cluster.network.latency_s,
        "recv_s": recv_s,
    }
    return Table(Message, columns)


def _communicate_spans(coflows: np.ndarray) -> Table:
    """Each push or pull as a span of its worker (it waits for it), built with numpy."""
    columns = {
        "actor": coflows["worker"],
        "kind": np.full(len(coflows), _COMMUNICATE),
        "step": coflows["step"],
        "start_s": coflows["send_s"],
        "end_s": coflows["recv_s"],
    }
    return Table(Span, columns)
