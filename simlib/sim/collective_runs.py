"""Collectives and parameter-server rounds run event by event: chunks moving between ranks.

Each rank runs the rounds its algorithm prescribes (send these chunks, receive those, reduce
what arrived) over a :class:`simlib.sim.network.Network`, starting a round when the previous one
is done. With no randomness the time equals the closed form of
:mod:`simlib.sim.collectives` / :func:`simlib.sim.ps_cost`; the tests hold them equal to 1e-9.

Rounds, rank i of p (n bytes per rank, L = log2 p):

- ring all-reduce: p-1 reduce-scatter steps (send chunk n/p to i+1, receive from i-1,
  reduce it), then p-1 all-gather steps (Patarasuk & Yuan 2009).
- tree: a binomial reduce to rank 0 over ceil(log2 p) rounds, then the broadcast back.
- recursive doubling: in round r exchange all n bytes with i XOR 2^r and reduce.
- halving-doubling (Rabenseifner): exchange n/2, n/4, ... n/p with partners at distance p/2,
  p/4, ... 1 (reduce-scatter), then n/p, 2n/p, ... n/2 at distance 1, 2, ... p/2 (all-gather).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import simpy

from simlib.limits import EVENT_RANKS
from simlib.sim._checks import check_choice
from simlib.sim.collectives import (
    CollectiveCost,
    all_gather_cost,
    allreduce_cost,
    reduce_scatter_cost,
    tree_levels,
)
from simlib.sim.network import Network
from simlib.sim.parameter_server import PSCost, ps_cost
from simlib.sim.trace import Message, Trace, TraceBuilder

__all__ = [
    "COLLECTIVES",
    "CollectiveRun",
    "PSRoundRun",
    "collective_rounds",
    "run_collective",
    "run_ps_round",
    "start_collective",
]

COLLECTIVES = ("all-reduce", "reduce-scatter", "all-gather")

# One round of one rank: (sends [(peer, bytes)], receives [(peer, bytes)], bytes to reduce).
Round = tuple[list[tuple[int, float]], list[tuple[int, float]], float]


def _ring(i: int, p: int, n: float, reduce_steps: int, gather_steps: int) -> list[Round]:
    right, left, chunk = (i + 1) % p, (i - 1) % p, n / p
    rounds = [([(right, chunk)], [(left, chunk)], chunk) for _ in range(reduce_steps)]
    return rounds + [([(right, chunk)], [(left, chunk)], 0.0) for _ in range(gather_steps)]


def _tree(i: int, p: int, n: float) -> list[Round]:
    levels = tree_levels(p)
    up, down = [], []
    for r in range(levels):
        half, span = 1 << r, 2 << r
        if i % span == half:  # send my partial sum to my parent, once
            up.append(([(i - half, n)], [], 0.0))
            down.append(([], [(i - half, n)], 0.0))
        elif i % span == 0 and i + half < p:  # receive a child's partial sum, then send it back
            up.append(([], [(i + half, n)], n))
            down.append(([(i + half, n)], [], 0.0))
        else:
            up.append(([], [], 0.0))
            down.append(([], [], 0.0))
    return up + down[::-1]


def _doubling(i: int, p: int, n: float) -> list[Round]:
    return [([(i ^ (1 << r), n)], [(i ^ (1 << r), n)], n) for r in range(tree_levels(p))]


def _halving_doubling(i: int, p: int, n: float) -> list[Round]:
    levels = tree_levels(p)
    rounds = []
    for r in range(levels):
        peer, size = i ^ (p >> (r + 1)), n / (2 << r)
        rounds.append(([(peer, size)], [(peer, size)], size))
    for r in range(levels):
        peer, size = i ^ (1 << r), n / p * (1 << r)
        rounds.append(([(peer, size)], [(peer, size)], 0.0))
    return rounds


def collective_rounds(
    collective: str, algorithm: str, rank: int, ranks: int, nbytes: float
) -> list[Round]:
    """The rounds rank ``rank`` of ``ranks`` runs: ``(sends, receives, bytes to reduce)`` each.

    Example:
        >>> collective_rounds("all-reduce", "ring", 0, 2, 8.0)
        [([(1, 4.0)], [(1, 4.0)], 4.0), ([(1, 4.0)], [(1, 4.0)], 0.0)]
    """
    p, n = ranks, float(nbytes)
    if collective == "reduce-scatter":
        return _ring(rank, p, n, p - 1, 0)
    if collective == "all-gather":
        return _ring(rank, p, n, 0, p - 1)
    return {
        "ring": lambda: _ring(rank, p, n, p - 1, p - 1),
        "tree": lambda: _tree(rank, p, n),
        "recursive-doubling": lambda: _doubling(rank, p, n),
        "halving-doubling": lambda: _halving_doubling(rank, p, n),
    }[algorithm]()


class _Mailbox:
    """Events keyed by (what, src rank, dst rank, round): whoever comes first creates it."""

    def __init__(self, env: simpy.Environment):
        self.env, self.events = env, {}

    def slot(self, key) -> simpy.Event:
        if key not in self.events:
            self.events[key] = self.env.event()
        return self.events[key]


class _Discard:
    """A span table that keeps nothing (the caller records its own spans)."""

    class _Rows(list):
        def append(self, _row) -> None:
            pass

    rows = _Rows()


def _when(event: simpy.Event, action) -> None:
    """Run ``action`` once ``event`` has been processed (now, if it already has)."""
    if event.callbacks is None:
        action(event)
    else:
        event.callbacks.append(action)


def _rank(env, net, nodes, rounds, gamma, spans, mail, cid, step, rank):
    """The process of one rank: run its rounds in order, recording what it did.

    Sends use a rendezvous (as MPI does for large messages): a chunk leaves only once its
    receiver has posted the matching receive, i.e. has reached that round.
    """
    for g, (sends, recvs, reduce_bytes) in enumerate(rounds):
        if not sends and not recvs:
            continue
        t0 = env.now
        for peer, _ in recvs:
            mail.slot(("ready", peer, rank, g)).succeed()
        waits = []
        for peer, size in sends:
            arrived = mail.slot(("arrived", rank, peer, g))

            def go(_e, peer=peer, size=size, arrived=arrived):
                sent = net.send(nodes[rank], nodes[peer], size, 2, step, cid)
                sent.callbacks.append(lambda _s: arrived.succeed())

            _when(mail.slot(("ready", rank, peer, g)), go)
            waits.append(arrived)
        waits += [mail.slot(("arrived", peer, rank, g)) for peer, _ in recvs]
        yield env.all_of(waits)
        spans.rows.append((nodes[rank], 1, step, t0, env.now))
        if reduce_bytes and gamma:
            t0 = env.now
            yield env.timeout(gamma * reduce_bytes)
            spans.rows.append((nodes[rank], 3, step, t0, env.now))


def start_collective(
    env: simpy.Environment,
    net: Network,
    nodes: Sequence[int],
    collective: str,
    algorithm: str,
    nbytes: float,
    gamma_s_per_byte: float,
    builder: TraceBuilder,
    step: int = -1,
    spans: bool = True,
) -> simpy.Event:
    """Start one collective among ``nodes`` now; the event fires when every rank is done.

    Records its chunks (``collective`` = its id), a CollectiveRecord and, if ``spans``, each
    rank's communicate and reduce spans.
    """
    cid, p, t0 = len(builder.collectives.rows), len(nodes), env.now
    mail = _Mailbox(env)
    procs = [
        env.process(
            _rank(
                env,
                net,
                nodes,
                collective_rounds(collective, algorithm, r, p, nbytes),
                gamma_s_per_byte,
                builder.spans if spans else _Discard(),
                mail,
                cid,
                step,
                r,
            )
        )
        for r in range(p)
    ]
    builder.collectives.rows.append(None)  # reserve the id; filled in when done
    done = env.event()

    def finish(_event) -> None:
        row = (
            cid,
            builder.collectives.code("kind", collective),
            builder.collectives.code("algorithm", algorithm),
            step,
            p,
            float(nbytes),
            t0,
            env.now,
        )
        builder.collectives.rows[cid] = row
        done.succeed()

    env.all_of(procs).callbacks.append(finish)
    return done


@dataclass(frozen=True)
class CollectiveRun:
    """An event-level collective: its time, the closed form's, and the trace of its chunks."""

    seconds: float
    cost: CollectiveCost
    trace: Trace


def run_collective(
    collective: str,
    ranks: int,
    nbytes: float,
    bandwidth_bytes_per_s: float,
    latency_s: float = 0.0,
    gamma_s_per_byte: float = 0.0,
    algorithm: str = "ring",
) -> CollectiveRun:
    """Run one collective chunk by chunk over a max-min fair network of equal NICs.

    Args:
        collective: "all-reduce", "reduce-scatter" or "all-gather" (the last two: ring only).
        ranks, nbytes, bandwidth_bytes_per_s, latency_s, gamma_s_per_byte: as in
            :func:`simlib.sim.allreduce_cost`.
        algorithm: the all-reduce algorithm.

    Returns:
        CollectiveRun; ``seconds`` equals ``cost.seconds``.

    Example:
        >>> run_collective("all-reduce", 4, 4e6, 1e9).seconds
        0.006
    """
    check_choice("collective", collective, COLLECTIVES)
    if collective == "all-reduce":
        cost = allreduce_cost(
            algorithm, ranks, nbytes, bandwidth_bytes_per_s, latency_s, gamma_s_per_byte
        )
    elif collective == "reduce-scatter":
        cost = reduce_scatter_cost(
            ranks, nbytes, bandwidth_bytes_per_s, latency_s, gamma_s_per_byte
        )
    else:
        cost = all_gather_cost(ranks, nbytes, bandwidth_bytes_per_s, latency_s)
    EVENT_RANKS.check(cost.ranks, "ranks")  # the closed form took any size; the events cannot
    algorithm = algorithm if collective == "all-reduce" else "ring"
    env = simpy.Environment()
    meta = {
        "workers": ranks,
        "servers": 0,
        "collective": collective,
        "algorithm": algorithm,
        "worker_bandwidth_bytes_per_s": bandwidth_bytes_per_s,
        "latency_s": latency_s,
    }
    builder = TraceBuilder(meta)
    net = Network(env, [bandwidth_bytes_per_s] * ranks, latency_s, builder.messages)
    start_collective(
        env,
        net,
        list(range(ranks)),
        collective,
        algorithm,
        nbytes,
        gamma_s_per_byte if collective != "all-gather" else 0.0,
        builder,
    )
    env.run()
    return CollectiveRun(seconds=env.now, cost=cost, trace=builder.build())


@dataclass(frozen=True)
class PSRoundRun:
    """An event-level parameter-server round: its time, the closed form's, and its trace."""

    seconds: float
    cost: PSCost
    trace: Trace


def _server(env, net, workers, server, shard, pull, pushes):
    yield env.all_of(pushes)
    if pull:
        yield env.all_of(
            [net.send(server, w, shard, Message.KINDS.index("pull"), 0) for w in range(workers)]
        )


def run_ps_round(
    workers: int,
    servers: int,
    model_bytes: float,
    worker_bandwidth_bytes_per_s: float,
    server_bandwidth_bytes_per_s: float | None = None,
    latency_s: float = 0.0,
    pull: bool = False,
) -> PSRoundRun:
    """Run one synchronous parameter-server round flow by flow (every flow max-min fair).

    Every worker pushes M/k bytes to each of the k servers at time 0; each server, once it has
    all N pushes, sends its M/k bytes back to every worker (``pull``). Arguments as in
    :func:`simlib.sim.ps_cost`; ``seconds`` equals its ``seconds``.

    Example:
        >>> run_ps_round(8, 2, 1e9, 1e10).seconds
        0.4
    """
    cost = ps_cost(
        workers,
        servers,
        model_bytes,
        worker_bandwidth_bytes_per_s,
        server_bandwidth_bytes_per_s,
        latency_s,
        pull,
    )
    b_s = server_bandwidth_bytes_per_s or worker_bandwidth_bytes_per_s
    env = simpy.Environment()
    meta = {
        "workers": workers,
        "servers": servers,
        "policy": "bsp",
        "latency_s": latency_s,
        "worker_bandwidth_bytes_per_s": worker_bandwidth_bytes_per_s,
        "server_bandwidth_bytes_per_s": b_s,
    }
    builder = TraceBuilder(meta)
    net = Network(
        env, [worker_bandwidth_bytes_per_s] * workers + [b_s] * servers, latency_s, builder.messages
    )
    shard = model_bytes / servers
    for j in range(servers):
        pushes = [
            net.send(w, workers + j, shard, Message.KINDS.index("push"), 0) for w in range(workers)
        ]
        env.process(_server(env, net, workers, workers + j, shard, pull, pushes))
    env.run()
    return PSRoundRun(seconds=env.now, cost=cost, trace=builder.build())
