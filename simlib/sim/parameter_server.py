"""Closed-form costs of parameter-server communication, and the BytePS optimum.

N workers, a model of M bytes split evenly over k servers by key range (Li et al., "Scaling
distributed machine learning with the parameter server", OSDI 2014). Each step every worker
pushes M bytes of gradients (M/k to each server) and pulls M bytes of parameters. A server
receives N M / k and sends N M / k. Flows through one NIC share it max-min fairly, so with
worker NIC bandwidth B_w and server NIC bandwidth B_s one direction takes
``alpha + max(M / B_w, N M / (k B_s))``; push then pull takes twice that (Paleo, ICLR 2017).

BytePS (Jiang et al., OSDI 2020) adds k CPU-only servers to n GPU workers; its optimal
communication time is ``2 n (n-1) M / ((n^2 + k n - 2k) B)``: the ring all-reduce at k = 0 and
M / B at k = n.
"""

from __future__ import annotations

from dataclasses import dataclass

from simlib.sim._checks import check_count, check_number

__all__ = ["PSCost", "byteps_seconds", "ps_cost"]


@dataclass(frozen=True)
class PSCost:
    """Time and traffic of one parameter-server round (push, or push then pull)."""

    workers: int
    servers: int
    model_bytes: float
    pull: bool
    seconds: float
    latency_seconds: float
    bandwidth_seconds: float
    bottleneck: str
    bytes_per_server: float
    bytes_total: float

    def as_dict(self) -> dict:
        """The fields as a plain dict (what ``simlib cost ps --json`` prints)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def ps_cost(
    workers: int,
    servers: int,
    model_bytes: float,
    worker_bandwidth_bytes_per_s: float,
    server_bandwidth_bytes_per_s: float | None = None,
    latency_s: float = 0.0,
    pull: bool = False,
) -> PSCost:
    """Time of one synchronous parameter-server round (all workers push, then maybe pull).

    Formula (Li et al. 2014; Paleo 2017): one direction takes
    ``alpha + max(M / B_w, N M / (k B_s))``; with ``pull`` the round is push then pull, twice
    that. Each server moves ``N M / k`` bytes per direction; all servers together ``N M``.

    Args:
        workers: N >= 1.
        servers: k >= 1 shards, each holding M / k bytes (a key range).
        model_bytes: M, bytes of the model (= bytes of one gradient).
        worker_bandwidth_bytes_per_s: B_w, each worker's NIC bandwidth per direction.
        server_bandwidth_bytes_per_s: B_s, each server's NIC bandwidth (default B_w).
        latency_s: alpha, seconds per message.
        pull: include the pull of the new parameters after the push.

    Returns:
        PSCost; ``bottleneck`` is "worker", "server" or "balanced" (equal times).

    Example:
        >>> ps_cost(8, 2, 1e9, 1e10).seconds  # max(0.1, 8e9 / 2e10)
        0.4
    """
    n = check_count("workers", workers, 1)
    k = check_count("servers", servers, 1)
    m = check_number("model_bytes", model_bytes)
    b_w = check_number(
        "worker_bandwidth_bytes_per_s", worker_bandwidth_bytes_per_s, strict=True, allow_inf=True
    )
    b_s = (
        b_w
        if server_bandwidth_bytes_per_s is None
        else check_number(
            "server_bandwidth_bytes_per_s",
            server_bandwidth_bytes_per_s,
            strict=True,
            allow_inf=True,
        )
    )
    check_number("latency_s", latency_s)
    worker_s, server_s = m / b_w, n * m / (k * b_s)
    bottleneck = (
        "balanced" if worker_s == server_s else ("worker" if worker_s > server_s else "server")
    )
    directions = 2 if pull else 1
    return PSCost(
        workers=n,
        servers=k,
        model_bytes=m,
        pull=bool(pull),
        seconds=directions * (latency_s + max(worker_s, server_s)),
        latency_seconds=directions * latency_s,
        bandwidth_seconds=directions * max(worker_s, server_s),
        bottleneck=bottleneck,
        bytes_per_server=directions * n * m / k,
        bytes_total=directions * n * m,
    )


def byteps_seconds(
    workers: int, cpu_servers: int, model_bytes: float, bandwidth_bytes_per_s: float
) -> float:
    """BytePS's optimal communication time per step with ``cpu_servers`` extra CPU servers.

    Formula (Jiang et al., OSDI 2020, section 3): ``2 n (n-1) M / ((n^2 + k n - 2k) B)``; it is
    the ring all-reduce ``2 (n-1) M / (n B)`` at k = 0 and ``M / B`` at k = n. More than n
    CPU servers do not help, so k is capped at n.

    Args:
        workers: n >= 2 GPU workers.
        cpu_servers: k >= 0 CPU-only servers.
        model_bytes: M.
        bandwidth_bytes_per_s: B, every machine's NIC bandwidth.

    Returns:
        Seconds.

    Example:
        >>> byteps_seconds(4, 4, 1e9, 1e9)
        1.0
    """
    n = check_count("workers", workers, 2)
    k = min(check_count("cpu_servers", cpu_servers, 0), n)
    m = check_number("model_bytes", model_bytes)
    b = check_number("bandwidth_bytes_per_s", bandwidth_bytes_per_s, strict=True, allow_inf=True)
    return 2 * n * (n - 1) * m / ((n * n + k * n - 2 * k) * b)
