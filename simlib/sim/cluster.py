"""What a simulated cluster is made of: workers (and their stragglers), servers, NICs, the model.

All sizes in bytes, times in seconds, bandwidths in bytes per second (per direction of a
full-duplex NIC). Specs are frozen and check themselves; a bad value raises
:class:`simlib.errors.ConfigError` naming the field, the value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from simlib.errors import ConfigError
from simlib.limits import SERVERS, SIGMA, SLOWDOWN, WORKERS
from simlib.sim._checks import check_choice, check_count, check_fraction, check_number

__all__ = ["DISTRIBUTIONS", "ClusterSpec", "NetworkSpec", "StragglerSpec"]

DISTRIBUTIONS = ("fixed", "lognormal")


@dataclass(frozen=True)
class StragglerSpec:
    """The random part of compute time.

    Args:
        distribution: "fixed" (no noise) or "lognormal" (mean-1 noise of shape ``sigma``).
        sigma: lognormal shape (0 = no noise).
        probability: chance that one worker's step straggles (0..1).
        slowdown: factor a straggling step takes longer (>= 1).
    """

    distribution: str = "fixed"
    sigma: float = 0.0
    probability: float = 0.0
    slowdown: float = 1.0

    def __post_init__(self) -> None:
        check_choice("stragglers.distribution", self.distribution, DISTRIBUTIONS)
        check_number("stragglers.sigma", self.sigma)
        check_fraction("stragglers.probability", self.probability)
        check_number("stragglers.slowdown", self.slowdown, minimum=1.0)
        SLOWDOWN.check(self.slowdown, "stragglers.slowdown")
        if self.distribution == "lognormal":
            SIGMA.check(self.sigma, "stragglers.sigma")

    @property
    def random(self) -> bool:
        """Whether any draw is random (else every step takes its base time)."""
        noisy = self.distribution == "lognormal" and self.sigma > 0
        return noisy or (self.probability > 0 and self.slowdown > 1)


@dataclass(frozen=True)
class NetworkSpec:
    """NICs and latency.

    Args:
        worker_bandwidth_bytes_per_s: each worker's NIC (``inf``: transfers take no time).
        server_bandwidth_bytes_per_s: each server's NIC (None: same as the workers').
        latency_s: seconds every message waits before its bytes flow (alpha).
    """

    worker_bandwidth_bytes_per_s: float = math.inf
    server_bandwidth_bytes_per_s: float | None = None
    latency_s: float = 0.0

    def __post_init__(self) -> None:
        check_number(
            "network.worker_bandwidth_bytes_per_s",
            self.worker_bandwidth_bytes_per_s,
            strict=True,
            allow_inf=True,
        )
        if self.server_bandwidth_bytes_per_s is not None:
            check_number(
                "network.server_bandwidth_bytes_per_s",
                self.server_bandwidth_bytes_per_s,
                strict=True,
                allow_inf=True,
            )
        check_number("network.latency_s", self.latency_s)

    @property
    def server_bandwidth(self) -> float:
        """The servers' NIC bandwidth, defaulting to the workers'."""
        if self.server_bandwidth_bytes_per_s is None:
            return self.worker_bandwidth_bytes_per_s
        return self.server_bandwidth_bytes_per_s


def _per_worker(step_seconds, workers: int) -> tuple[float, ...]:
    values = (step_seconds,) if isinstance(step_seconds, int | float) else tuple(step_seconds)
    if len(values) not in (1, workers):
        raise ConfigError(
            f"step_seconds has {len(values)} values for {workers} workers; give one value "
            f"for all or exactly {workers}, one per worker"
        )
    for i, v in enumerate(values):
        check_number(f"step_seconds[{i}]", v, strict=True)
    return tuple(float(v) for v in values) * (workers if len(values) == 1 else 1)


@dataclass(frozen=True)
class ClusterSpec:
    """A cluster: N workers (with their compute times), k parameter servers, NICs, a model.

    Args:
        workers: N >= 1.
        step_seconds: base compute seconds per step; one value for all, or one per worker.
        stragglers: noise and straggling on top of ``step_seconds``.
        servers: k >= 1 parameter-server shards (used by parameter-server policies).
        model_bytes: bytes of the model and of one gradient; 0 makes communication free.
        network: NIC bandwidths and latency.

    Example:
        >>> ClusterSpec(workers=3, step_seconds=0.5).step_seconds
        (0.5, 0.5, 0.5)
    """

    workers: int
    step_seconds: Sequence[float] | float = 1.0
    stragglers: StragglerSpec = field(default_factory=StragglerSpec)
    servers: int = 1
    model_bytes: float = 0.0
    network: NetworkSpec = field(default_factory=NetworkSpec)

    def __post_init__(self) -> None:
        WORKERS.check(check_count("workers", self.workers, 1), "workers")
        SERVERS.check(check_count("servers", self.servers, 1), "servers")
        check_number("model_bytes", self.model_bytes)
        object.__setattr__(self, "step_seconds", _per_worker(self.step_seconds, self.workers))
        if not isinstance(self.stragglers, StragglerSpec):
            raise ConfigError(f"stragglers must be a StragglerSpec, got {self.stragglers!r}")
        if not isinstance(self.network, NetworkSpec):
            raise ConfigError(f"network must be a NetworkSpec, got {self.network!r}")

    @property
    def communicates(self) -> bool:
        """Whether messages are sent at all (no model bytes: communication is free)."""
        return self.model_bytes > 0
