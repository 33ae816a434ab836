"""Closed-form costs of collectives under the alpha-beta(-gamma) model.

Notation (Thakur, Rabenseifner & Gropp, "Optimization of collective communication operations in
MPICH", IJHPCA 2005; Patarasuk & Yuan, JPDC 2009): ``p`` ranks, ``n`` bytes per rank, ``alpha``
seconds of latency per message, ``beta = 1/B`` seconds per byte, ``gamma`` seconds per byte
reduced.

==============================  ================================================================
ring all-reduce                 2(p-1) alpha + 2 (p-1)/p n beta + (p-1)/p n gamma
binomial tree reduce+broadcast  2 L (alpha + n beta) + L n gamma,   L = ceil(log2 p)
recursive doubling all-reduce   log2(p) (alpha + n beta + n gamma)
halving-doubling (Rabenseifner) 2 log2(p) alpha + 2 (p-1)/p n beta + (p-1)/p n gamma
ring reduce-scatter             (p-1) alpha + (p-1)/p n beta + (p-1)/p n gamma
ring all-gather                 (p-1) alpha + (p-1)/p n beta
==============================  ================================================================

Bandwidths follow NVIDIA nccl-tests (doc/PERFORMANCE.md): ``algbw = n / t`` and
``busbw = algbw * factor`` with factor 2(p-1)/p for all-reduce and (p-1)/p for reduce-scatter
and all-gather. The event-level versions in :mod:`simlib.sim.collective_runs` move the same
chunks between ranks and take exactly these times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simlib.limits import RANKS, WORKERS
from simlib.sim._checks import check_choice, check_count, check_number, check_power_of_two

__all__ = [
    "ALLREDUCE_ALGORITHMS",
    "CollectiveCost",
    "all_gather_cost",
    "allreduce_cost",
    "bytes_sent_by_rank",
    "mean_bytes_sent",
    "reduce_scatter_cost",
    "tree_levels",
]

ALLREDUCE_ALGORITHMS = ("ring", "tree", "recursive-doubling", "halving-doubling")


@dataclass(frozen=True)
class CollectiveCost:
    """The time and traffic of one collective over ``ranks`` ranks of ``nbytes`` bytes each.

    ``seconds = latency_seconds + bandwidth_seconds + compute_seconds``.
    ``bytes_sent_per_rank`` is the mean over ranks (all ranks send the same amount except in
    the binomial tree, where the root and inner nodes send more; see ``bytes_sent_by_rank``).
    Bandwidths are infinite when the collective takes no time (one rank).
    """

    collective: str
    algorithm: str
    ranks: int
    nbytes: float
    seconds: float
    latency_seconds: float
    bandwidth_seconds: float
    compute_seconds: float
    bytes_sent_per_rank: float
    algbw_bytes_per_s: float
    busbw_bytes_per_s: float

    def as_dict(self) -> dict:
        """The fields as a plain dict (what ``simlib cost ... --json`` prints)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def tree_levels(ranks: int) -> int:
    """Levels of a binomial tree over ``ranks`` ranks: ceil(log2 ranks) (0 for one rank)."""
    return (int(ranks) - 1).bit_length()


def _check_common(ranks, nbytes, bandwidth_bytes_per_s, latency_s, gamma_s_per_byte):
    RANKS.check(check_count("ranks", ranks, 1), "ranks")
    check_number("nbytes", nbytes)
    check_number("bandwidth_bytes_per_s", bandwidth_bytes_per_s, strict=True, allow_inf=True)
    check_number("latency_s", latency_s)
    check_number("gamma_s_per_byte", gamma_s_per_byte)


def _finish(collective, algorithm, p, n, lat, bw, comp, sent, bus_factor) -> CollectiveCost:
    seconds = lat + bw + comp
    algbw = n / seconds if seconds > 0 else math.inf
    return CollectiveCost(
        collective=collective,
        algorithm=algorithm,
        ranks=int(p),
        nbytes=float(n),
        seconds=seconds,
        latency_seconds=lat,
        bandwidth_seconds=bw,
        compute_seconds=comp,
        bytes_sent_per_rank=sent,
        algbw_bytes_per_s=algbw,
        busbw_bytes_per_s=algbw * bus_factor,
    )


def allreduce_cost(
    algorithm: str,
    ranks: int,
    nbytes: float,
    bandwidth_bytes_per_s: float,
    latency_s: float = 0.0,
    gamma_s_per_byte: float = 0.0,
) -> CollectiveCost:
    """Time of an all-reduce of ``nbytes`` per rank over ``ranks`` ranks (alpha-beta-gamma model).

    Formulas (Thakur, Rabenseifner & Gropp 2005; Patarasuk & Yuan 2009), beta = 1/B:
    ring ``2(p-1) a + 2(p-1)/p n beta + (p-1)/p n gamma``; tree (binomial reduce then
    broadcast, L = ceil(log2 p)) ``2L (a + n beta) + L n gamma``; recursive-doubling
    ``log2 p (a + n beta + n gamma)``; halving-doubling (Rabenseifner)
    ``2 log2 p a + 2(p-1)/p n beta + (p-1)/p n gamma``. busbw = algbw * 2(p-1)/p (nccl-tests).

    Args:
        algorithm: "ring", "tree", "recursive-doubling" or "halving-doubling" (the last two
            need a power-of-two ``ranks``).
        ranks: number of ranks p >= 1.
        nbytes: bytes each rank contributes (and receives reduced), n >= 0.
        bandwidth_bytes_per_s: link bandwidth B of each rank's NIC, each direction.
        latency_s: alpha, seconds per message.
        gamma_s_per_byte: seconds to reduce one byte.

    Returns:
        CollectiveCost.

    Example:
        >>> allreduce_cost("ring", 4, 4e6, 1e9).seconds  # 2*3/4 * 4e6 / 1e9
        0.006
    """
    check_choice("algorithm", algorithm, ALLREDUCE_ALGORITHMS)
    _check_common(ranks, nbytes, bandwidth_bytes_per_s, latency_s, gamma_s_per_byte)
    p, n, a, beta, g = (
        int(ranks),
        float(nbytes),
        latency_s,
        1.0 / bandwidth_bytes_per_s,
        gamma_s_per_byte,
    )
    if algorithm in ("recursive-doubling", "halving-doubling"):
        check_power_of_two("ranks", p, algorithm)
    frac = (p - 1) / p
    if algorithm == "ring":
        lat, bw, comp = 2 * (p - 1) * a, 2 * frac * n * beta, frac * n * g
    elif algorithm == "tree":
        levels = tree_levels(p)
        lat, bw, comp = 2 * levels * a, 2 * levels * n * beta, levels * n * g
    elif algorithm == "recursive-doubling":
        levels = tree_levels(p)
        lat, bw, comp = levels * a, levels * n * beta, levels * n * g
    else:
        levels = tree_levels(p)
        lat, bw, comp = 2 * levels * a, 2 * frac * n * beta, frac * n * g
    sent = mean_bytes_sent(algorithm, p, n)
    return _finish("all-reduce", algorithm, p, n, lat, bw, comp, sent, 2 * frac)


def reduce_scatter_cost(
    ranks: int,
    nbytes: float,
    bandwidth_bytes_per_s: float,
    latency_s: float = 0.0,
    gamma_s_per_byte: float = 0.0,
) -> CollectiveCost:
    """Time of a ring reduce-scatter of an ``nbytes`` buffer per rank (each keeps n/p reduced).

    Formula (Thakur et al. 2005): ``(p-1) alpha + (p-1)/p n beta + (p-1)/p n gamma``;
    busbw = algbw * (p-1)/p (nccl-tests).

    Args:
        ranks: p >= 1.
        nbytes: bytes of the whole buffer on each rank, n.
        bandwidth_bytes_per_s: B.
        latency_s: alpha.
        gamma_s_per_byte: seconds to reduce one byte.

    Returns:
        CollectiveCost.

    Example:
        >>> reduce_scatter_cost(4, 4e6, 1e9).seconds
        0.003
    """
    _check_common(ranks, nbytes, bandwidth_bytes_per_s, latency_s, gamma_s_per_byte)
    p, n = int(ranks), float(nbytes)
    frac = (p - 1) / p
    lat, bw, comp = (
        (p - 1) * latency_s,
        frac * n / bandwidth_bytes_per_s,
        frac * n * gamma_s_per_byte,
    )
    return _finish("reduce-scatter", "ring", p, n, lat, bw, comp, frac * n, frac)


def all_gather_cost(
    ranks: int, nbytes: float, bandwidth_bytes_per_s: float, latency_s: float = 0.0
) -> CollectiveCost:
    """Time of a ring all-gather whose result is ``nbytes`` per rank (each contributes n/p).

    Formula (Thakur et al. 2005): ``(p-1) alpha + (p-1)/p n beta``; busbw = algbw * (p-1)/p.

    Args:
        ranks: p >= 1.
        nbytes: bytes of the gathered buffer on each rank, n.
        bandwidth_bytes_per_s: B.
        latency_s: alpha.

    Returns:
        CollectiveCost.

    Example:
        >>> all_gather_cost(4, 4e6, 1e9).seconds
        0.003
    """
    _check_common(ranks, nbytes, bandwidth_bytes_per_s, latency_s, 0.0)
    p, n = int(ranks), float(nbytes)
    frac = (p - 1) / p
    lat, bw = (p - 1) * latency_s, frac * n / bandwidth_bytes_per_s
    return _finish("all-gather", "ring", p, n, lat, bw, 0.0, frac * n, frac)


def _tree_sends(rank: int, p: int) -> int:
    """Messages of n bytes that ``rank`` sends in a binomial reduce followed by a broadcast."""
    levels = tree_levels(p)
    reduce_sends = 1 if rank else 0
    bcast = sum(1 for r in range(levels) if rank % (2 << r) == 0 and rank + (1 << r) < p)
    return reduce_sends + bcast


def mean_bytes_sent(algorithm: str, ranks: int, nbytes: float) -> float:
    """Mean bytes a rank sends in one all-reduce, in closed form (O(1) in the ranks).

    Ring and halving-doubling: 2(p-1)/p n. Recursive doubling: log2(p) n. Binomial tree:
    the reduce sends p-1 messages of n (every rank but the root, once) and the broadcast
    another p-1 (every rank but the root receives once), so the mean is 2(p-1)/p n as well.

    Example:
        >>> mean_bytes_sent("tree", 4, 1.0) == sum(bytes_sent_by_rank("tree", 4, 1.0)) / 4
        True
    """
    check_choice("algorithm", algorithm, ALLREDUCE_ALGORITHMS)
    p, n = check_count("ranks", ranks, 1), float(nbytes)
    if algorithm == "recursive-doubling":
        return tree_levels(p) * n
    return 2 * (p - 1) / p * n


def bytes_sent_by_rank(algorithm: str, ranks: int, nbytes: float) -> list[float]:
    """Bytes each rank sends in one all-reduce of ``nbytes`` per rank, rank 0 first.

    Ring and halving-doubling: 2(p-1)/p n each; recursive doubling: log2(p) n each; binomial
    tree (root 0): every non-root sends n up once, and each inner node sends n to each child.

    Example:
        >>> bytes_sent_by_rank("tree", 4, 1.0)
        [2.0, 1.0, 2.0, 1.0]
    """
    check_choice("algorithm", algorithm, ALLREDUCE_ALGORITHMS)
    p, n = check_count("ranks", ranks, 1), float(nbytes)
    WORKERS.check(p, "ranks (a list with one entry per rank)")
    if algorithm == "tree":
        return [_tree_sends(r, p) * n for r in range(p)]
    if algorithm == "recursive-doubling":
        return [tree_levels(p) * n] * p
    return [2 * (p - 1) / p * n] * p
