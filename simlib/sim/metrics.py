"""Numbers read from a trace: progress, waiting, staleness, traffic, utilisation, scaling.

Everything here reads only the :class:`simlib.sim.trace.Trace`, so it works the same for a
trace from the event loop and one from a vectorised fast path.

- iterations per worker: gradients each worker computed (update rows, applied or dropped);
- throughput: applied gradients per simulated second;
- blocked seconds per worker: time ready to work but held by the policy;
- staleness: ``version_applied - version_read`` of every applied gradient;
- bytes per link: each message's bytes on its sender's ``.out`` and receiver's ``.in`` link; a
  collective's bytes by rank as :func:`simlib.sim.bytes_sent_by_rank` gives them (each rank
  receives what it sends in these algorithms);
- NIC utilisation over time: each transfer's bytes spread evenly over the time it flowed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from simlib.sim.collectives import bytes_sent_by_rank
from simlib.sim.trace import Span, Trace

__all__ = [
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
]


def iterations_per_worker(trace: Trace) -> list[int]:
    """Gradients each worker computed (including ones a backup round dropped)."""
    return np.bincount(trace.updates["worker"], minlength=trace.workers).tolist()


def seconds_per_worker(trace: Trace, kind: str) -> list[float]:
    """Seconds each worker spent in spans of ``kind`` (compute, communicate, blocked, reduce)."""
    spans = trace.spans.where(trace.spans["kind"] == Span.KINDS.index(kind))
    seconds = spans["end_s"] - spans["start_s"]
    totals = np.bincount(spans["actor"], weights=seconds, minlength=trace.workers)
    return totals.astype(np.float64).tolist()


def blocked_seconds_per_worker(trace: Trace) -> list[float]:
    """Seconds each worker was ready but held by the policy (barrier, bound, closed round).

    A synchronous run counts its last barrier too, through servers as through an all-reduce.
    """
    return seconds_per_worker(trace, "blocked")


def makespan_seconds(trace: Trace) -> float:
    """When the last recorded thing ended (0 for an empty trace)."""
    ends = [
        trace.spans["end_s"],
        trace.updates["applied_s"],
        trace.messages["recv_s"],
        trace.collectives["end_s"],
    ]
    return float(max((e.max() for e in ends if len(e)), default=0.0))


def throughput(trace: Trace) -> float:
    """Applied gradients per simulated second."""
    makespan = makespan_seconds(trace)
    applied = int(trace.updates["applied"].sum())
    return applied / makespan if makespan > 0 else 0.0


def max_clock_lead(trace: Trace) -> int:
    """The most clocks any worker was ahead of the slowest when it started an iteration.

    A worker's clock is the number of its gradients applied so far; at each read (the start
    of an iteration) the lead is its step minus the smallest clock. SSP(s) keeps this <= s.
    """
    u = trace.updates
    applied = u["applied"]
    order = np.argsort(u["applied_s"][applied], kind="stable")
    times = u["applied_s"][applied][order]
    owners = u["worker"][applied][order]
    lead = 0
    for step, read_s in zip(u["step"].tolist(), u["read_s"].tolist(), strict=True):
        done = owners[: np.searchsorted(times, read_s, side="right")]
        slowest = np.bincount(done, minlength=trace.workers).min()
        lead = max(lead, step - int(slowest))
    return lead


def staleness(trace: Trace) -> np.ndarray:
    """``version_applied - version_read`` of every applied gradient, in trace order."""
    applied = trace.updates["applied"]
    return (trace.updates["version_applied"] - trace.updates["version_read"])[applied]


def staleness_histogram(trace: Trace) -> dict[int, int]:
    """How many applied gradients had each staleness: ``{staleness: count}``, ascending."""
    values, counts = np.unique(staleness(trace), return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


def _collective_bytes(trace: Trace) -> dict[tuple[int, str], float]:
    """Bytes each rank sends (= receives) in the trace's collectives, by (node, direction)."""
    cols = trace.collectives
    totals: dict[tuple[str, str, int], float] = defaultdict(float)
    for kind, algorithm, ranks, nbytes in zip(
        cols["kind"].tolist(),
        cols["algorithm"].tolist(),
        cols["ranks"].tolist(),
        cols["nbytes"].tolist(),
        strict=True,
    ):
        totals[(cols.names("kind")[kind], cols.names("algorithm")[algorithm], ranks)] += nbytes
    out: dict[tuple[int, str], float] = defaultdict(float)
    for (kind, algorithm, ranks), nbytes in totals.items():
        if kind == "all-reduce":
            per_rank = bytes_sent_by_rank(algorithm, ranks, nbytes)
        else:
            per_rank = [(ranks - 1) / ranks * nbytes] * ranks
        for rank, sent in enumerate(per_rank):
            out[(rank, "out")] += sent
            out[(rank, "in")] += sent
    return out


def bytes_per_link(trace: Trace) -> dict[str, float]:
    """Bytes through every NIC link that carried any: ``{"worker0.out": ..., "server1.in": ...}``.

    Chunks of a collective are counted once, through the collective's record.
    """
    msgs = trace.messages
    own = msgs["collective"] < 0
    out: dict[tuple[int, str], float] = defaultdict(float)
    for column, direction in (("src", "out"), ("dst", "in")):
        nodes = msgs[column][own]
        for node, total in enumerate(np.bincount(nodes, weights=msgs["nbytes"][own]).tolist()):
            if total:
                out[(node, direction)] += total
    for key, total in _collective_bytes(trace).items():
        out[key] += total
    return {f"{trace.node_name(n)}.{d}": out[(n, d)] for n, d in sorted(out) if out[(n, d)]}


def bytes_per_server(trace: Trace) -> dict[str, float]:
    """Bytes each parameter server received plus sent: ``{"server0": ..., ...}``."""
    links = bytes_per_link(trace)
    return {
        f"server{j}": links.get(f"server{j}.in", 0.0) + links.get(f"server{j}.out", 0.0)
        for j in range(trace.servers)
    }


def _transfers(trace: Trace, node: int, direction: str):
    """(start_s, end_s, bytes) of every flow through one link.

    A collective counts through its chunks when the trace has them (event-level runs), else
    through its record: each rank's bytes spread over the collective's duration.
    """
    msgs = trace.messages
    mine = msgs["src" if direction == "out" else "dst"] == node
    starts, ends, sizes = [msgs["start_s"][mine]], [msgs["recv_s"][mine]], [msgs["nbytes"][mine]]
    cols = trace.collectives
    with_chunks = set(np.unique(msgs["collective"]).tolist())
    for i in range(len(cols)) if node < trace.workers else ():
        if node < cols["ranks"][i] and int(cols["id"][i]) not in with_chunks:
            algorithm = cols.names("algorithm")[cols["algorithm"][i]]
            sent = bytes_sent_by_rank(algorithm, int(cols["ranks"][i]), float(cols["nbytes"][i]))
            starts.append(cols["start_s"][i : i + 1])
            ends.append(cols["end_s"][i : i + 1])
            sizes.append(np.array([sent[node]]))
    return np.concatenate(starts), np.concatenate(ends), np.concatenate(sizes)


def _cumulative(edges: np.ndarray, starts: np.ndarray, ends: np.ndarray, rates: np.ndarray):
    """Bytes moved by time t for each t in ``edges``: sum of rate * overlap([start, t])."""

    def ramp(points):  # sum over flows of rate * max(t - point, 0)
        order = np.argsort(points)
        p, r = points[order], rates[order]
        k = np.searchsorted(p, edges, side="right")
        cum_r = np.concatenate([[0.0], np.cumsum(r)])
        cum_rp = np.concatenate([[0.0], np.cumsum(r * p)])
        return edges * cum_r[k] - cum_rp[k]

    return ramp(starts) - ramp(ends)


def _tier_rate(trace: Trace, kind: int):
    """Parameter-server traces: every active message of one direction flows at
    ``min(B_w, k B_s / n)`` (n active). Returns breakpoints, the cumulative bytes one active
    message has moved by each, and the messages' (start, end) intervals and source rows."""
    msgs = trace.messages
    first_server = trace.workers
    rows = (msgs["kind"] == kind) & ((msgs["dst"] if kind == 0 else msgs["src"]) == first_server)
    starts, ends = msgs["start_s"][rows], msgs["recv_s"][rows]
    points = np.unique(np.concatenate([starts, ends, [0.0]]))
    active = np.cumsum(
        np.bincount(np.searchsorted(points, starts), minlength=len(points))
        - np.bincount(np.searchsorted(points, ends), minlength=len(points))
    )
    b_w = trace.meta["worker_bandwidth_bytes_per_s"]
    b_s = trace.meta["server_bandwidth_bytes_per_s"]
    with np.errstate(divide="ignore"):
        rate = np.minimum(b_w, trace.servers * b_s / active)[:-1]
    rate = np.where(active[:-1] > 0, rate, 0.0)
    cumulative = np.concatenate([[0.0], np.cumsum(rate * np.diff(points))])
    return points, cumulative, active


def _tier_moved(trace: Trace, node: int, direction: str, edges: np.ndarray) -> np.ndarray:
    """Bytes through one link by each time in ``edges``, exactly, for a parameter-server trace."""
    server = node >= trace.workers
    kind = 0 if (direction == "in") == server else 1  # push: worker out, server in
    points, cumulative, active = _tier_rate(trace, kind)
    at = lambda t: np.interp(t, points, cumulative)  # noqa: E731
    if server:
        per_message = np.concatenate([[0.0], np.cumsum(np.diff(cumulative) * active[:-1])])
        return np.interp(edges, points, per_message) / trace.servers
    msgs = trace.messages
    mine = (msgs["kind"] == kind) & (msgs["src" if kind == 0 else "dst"] == node)
    mine &= (msgs["dst"] if kind == 0 else msgs["src"]) == trace.workers
    starts, ends = msgs["start_s"][mine], msgs["recv_s"][mine]
    clipped = np.clip(edges[:, None], starts[None, :], ends[None, :])
    return (at(clipped) - at(starts)[None, :]).sum(axis=1)


def link_traffic(
    trace: Trace, node: int, direction: str = "in", bins: int = 50, until_s: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bytes per second through one NIC link over time.

    In parameter-server traces every message of a direction flows at ``min(B_w, k B_s / n)``
    with n messages active (the max-min share, see :class:`simlib.sim.network.ServerTier`), so
    the traffic is exact. Elsewhere (collectives, single rounds) each flow's bytes are spread
    evenly over the time it flowed, which is exact when no flow's rate changes mid-way, as in
    the collective algorithms here.

    Args:
        trace: the trace.
        node: the node (workers first, then servers).
        direction: "in" (received) or "out" (sent).
        bins: number of equal time bins from 0 to ``until_s`` (default: the makespan).

    Returns:
        (bin edges in seconds, bytes per second in each bin).
    """
    end = until_s or makespan_seconds(trace) or 1.0
    edges = np.linspace(0.0, end, bins + 1)
    if (
        trace.meta.get("comm") == "ps"
        and trace.meta.get("method") == "events"
        and len(trace.messages)
    ):
        return edges, np.clip(
            np.diff(_tier_moved(trace, node, direction, edges)) / np.diff(edges), 0, None
        )
    starts, ends, sizes = _transfers(trace, node, direction)
    if not len(sizes):
        return edges, np.zeros(bins)
    length = ends - starts
    instant = length <= 0
    rates = np.where(instant, 0.0, sizes / np.where(instant, 1.0, length))
    moved = np.diff(_cumulative(edges, starts, ends, rates))
    moved += np.histogram(starts[instant], bins=edges, weights=sizes[instant])[0]
    return edges, np.clip(moved / np.diff(edges), 0.0, None)  # clip float dust below zero


def nic_utilisation(
    trace: Trace, node: int, direction: str = "in", bins: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """The share of one NIC link's bandwidth in use over time (0..1), from :func:`link_traffic`.

    Returns:
        (bin edges in seconds, utilisation in each bin).
    """
    key = "server" if node >= trace.workers else "worker"
    capacity = trace.meta.get(f"{key}_bandwidth_bytes_per_s") or math.inf
    edges, rate = link_traffic(trace, node, direction, bins=bins)
    return edges, rate / capacity


def summarize(trace: Trace) -> dict[str, Any]:
    """The numbers ``simlib simulate`` prints: progress, waiting, staleness, traffic, time."""
    return {
        "policy": trace.meta.get("label", trace.meta.get("policy")),
        "workers": trace.workers,
        "servers": trace.servers,
        "makespan_seconds": makespan_seconds(trace),
        "iterations_per_worker": iterations_per_worker(trace),
        "applied_updates": int(trace.updates["applied"].sum()),
        "dropped_updates": int((~trace.updates["applied"]).sum()),
        "throughput_updates_per_s": throughput(trace),
        "blocked_seconds_per_worker": blocked_seconds_per_worker(trace),
        "compute_seconds_per_worker": seconds_per_worker(trace, "compute"),
        "staleness_histogram": staleness_histogram(trace),
        "bytes_per_link": bytes_per_link(trace),
        "bytes_per_server": bytes_per_server(trace),
        "events": trace.meta.get("events"),
    }
