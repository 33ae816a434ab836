"""Run a simulated training: a cluster, a policy, a number of steps or seconds, a seed -> Trace.

``simulate`` picks the way to run it: the SimPy event loop for parameter-server policies; for
the all-reduce policies (BSP all-reduce, local SGD) a vectorised per-step form that gives the
same trace (``method="events"`` forces the event loop, with every all-reduce chunk).
"""

from __future__ import annotations

import simpy

from simlib.errors import ConfigError
from simlib.limits import EVENT_WORKER_STEPS, FAST_WORKER_STEPS, Limit, check_seed
from simlib.sim._checks import check_choice, check_count, check_number
from simlib.sim.cluster import ClusterSpec
from simlib.sim.policies import PolicySpec
from simlib.sim.ps_training import build_parameter_server
from simlib.sim.sync_training import build_sync_events, run_sync_fast
from simlib.sim.trace import Message, Table, Trace

__all__ = [
    "MAX_WORKER_STEPS",
    "METHODS",
    "check_steps",
    "check_until",
    "run_environment",
    "simulate",
]

METHODS = ("auto", "events", "fast")
MAX_WORKER_STEPS = int(EVENT_WORKER_STEPS.maximum)  # kept for callers; see simlib.limits


def _cost_limit(
    cluster: ClusterSpec, policy: PolicySpec | None, method: str = "auto"
) -> tuple[Limit, int]:
    """The bound that applies and what one worker-step costs against it: messages per step of
    one worker (a shard each for servers, 2(p-1) chunks for an event-level ring)."""
    allreduce = policy is not None and policy.comm == "allreduce"
    if allreduce and method != "events":
        return FAST_WORKER_STEPS, 1
    if not cluster.communicates:
        return EVENT_WORKER_STEPS, 1
    return EVENT_WORKER_STEPS, 2 * (cluster.workers - 1) if allreduce else cluster.servers


def check_steps(
    cluster: ClusterSpec, policy: PolicySpec | None, steps: int, method: str = "auto"
) -> None:
    """Refuse a run whose trace would not fit: workers x steps (x messages) over its limit."""
    limit, shards = _cost_limit(cluster, policy, method)
    cost = cluster.workers * steps * shards
    if cost > limit.maximum:
        per = f" x {shards:,} messages each" if shards > 1 else ""
        raise ConfigError(
            f"{cluster.workers:,} workers x {steps:,} steps{per} = {cost:,} is over the limit of "
            f"{limit.shown} {limit.unit}: {limit.why}; use fewer workers or steps"
        )


def check_until(
    cluster: ClusterSpec,
    until_s: float,
    name: str = "until_s",
    policy: PolicySpec | None = None,
    method: str = "auto",
) -> None:
    """Refuse a run by seconds that would take about more worker-steps than its limit allows.

    A run by seconds has no step limit, so ``until_s=1e300`` would never end; the estimate is
    ``workers * until_s / min(step_seconds)`` (communication and stragglers only slow it).
    """
    limit, shards = _cost_limit(cluster, policy, method)
    fastest = min(cluster.step_seconds)
    estimate = cluster.workers * shards * until_s / fastest
    if estimate > limit.maximum:
        raise ConfigError(
            f"{name} {until_s:g} would simulate about {estimate:.3g} worker-steps "
            f"({cluster.workers} workers, steps of {fastest:g} s), more than the "
            f"{limit.shown} {limit.unit} a run may take ({limit.why}); use at most "
            f"{limit.maximum * fastest / (cluster.workers * shards):.4g} s, or give steps instead"
        )


def run_environment(env: simpy.Environment, until_s: float | None = None) -> int:
    """Run ``env`` to the end (or until ``until_s``, exclusive); return the events processed.

    The count is SimPy's own: events scheduled (its event-id counter) minus those still queued
    (and minus the stop event ``until`` adds). Reading it costs nothing per event.
    """
    env.run(until=until_s)
    scheduled = next(env._eid)  # SimPy numbers every scheduled event 0, 1, 2, ...
    return scheduled - len(env._queue) - (until_s is not None)


def _meta(cluster: ClusterSpec, policy: PolicySpec, steps, until_s, seed, method) -> dict:
    return {
        "workers": cluster.workers,
        "servers": cluster.servers if policy.comm == "ps" else 0,
        "policy": policy.name,
        "label": policy.label(),
        "comm": policy.comm,
        "staleness": policy.staleness,
        "local_steps": policy.local_steps,
        "backup_workers": policy.backup_workers,
        "algorithm": policy.algorithm,
        "model_bytes": cluster.model_bytes,
        "worker_bandwidth_bytes_per_s": cluster.network.worker_bandwidth_bytes_per_s,
        "server_bandwidth_bytes_per_s": cluster.network.server_bandwidth,
        "latency_s": cluster.network.latency_s,
        "steps": steps,
        "until_s": until_s,
        "seed": seed,
        "method": method,
    }


def _check_run(cluster, policy, steps, until_s, seed, method) -> str:
    if not isinstance(cluster, ClusterSpec):
        raise ConfigError(f"cluster must be a ClusterSpec, got {type(cluster).__name__}")
    if not isinstance(policy, PolicySpec):
        raise ConfigError(f"policy must be a PolicySpec, got {type(policy).__name__}")
    if (steps is None) == (until_s is None):
        raise ConfigError("give exactly one of steps (iterations per worker) or until_s (seconds)")
    if steps is not None:
        check_steps(cluster, policy, check_count("steps", steps, 1), method)
    if until_s is not None:
        check_number("until_s", until_s, strict=True)
        check_until(cluster, until_s, policy=policy, method=method)
    check_seed(check_count("seed", seed, 0))
    check_choice("method", method, METHODS)
    if policy.name == "backup" and policy.backup_workers >= cluster.workers:
        raise ConfigError(
            f"backup_workers={policy.backup_workers} must be less than workers={cluster.workers}; "
            f"each round needs at least one gradient"
        )
    if method == "fast" and policy.comm != "allreduce":
        raise ConfigError(
            f"method 'fast' exists for all-reduce policies only, not {policy.name!r}; "
            "use method 'events' or 'auto'"
        )
    return (
        "fast"
        if method == "auto" and policy.comm == "allreduce"
        else method.replace("auto", "events")
    )


def simulate(
    cluster: ClusterSpec,
    policy: PolicySpec | None = None,
    *,
    steps: int | None = None,
    until_s: float | None = None,
    seed: int = 0,
    method: str = "auto",
) -> Trace:
    """Simulate training ``cluster`` under ``policy`` and return what happened.

    Args:
        cluster: workers, servers, NICs and model size.
        policy: the synchronisation policy (default BSP through parameter servers).
        steps: iterations per worker (rounds for backup workers); or
        until_s: simulated seconds to run (records of things still in progress are left out).
        seed: seed of every random draw; the same seed gives the identical trace.
        method: "auto", "events" (SimPy event loop) or "fast" (all-reduce policies only).

    Returns:
        The Trace; ``trace.meta["events"]`` is the number of SimPy events processed (None for
        the vectorised form).

    Example:
        >>> trace = simulate(ClusterSpec(workers=2, step_seconds=[1.0, 2.0]), steps=3)
        >>> float(trace.updates["applied_s"].max())
        6.0
    """
    policy = policy or PolicySpec()
    how = _check_run(cluster, policy, steps, until_s, seed, method)
    meta = _meta(cluster, policy, steps, until_s, seed, how)
    if how == "fast":
        spans, updates, collectives = run_sync_fast(
            cluster, policy, steps=steps, until_s=until_s, seed=seed, meta=meta
        )
        meta["events"] = None
        return Trace(spans, Table.empty(Message), collectives, updates, meta)
    build = build_parameter_server if policy.comm == "ps" else build_sync_events
    env, builder = build(cluster, policy, steps=steps, seed=seed, meta=meta)
    builder.meta["events"] = run_environment(env, until_s)
    return builder.build()
