"""Synchronisation policies: who may start the next step when, and what the server applies.

- ``bsp`` (bulk synchronous): every step waits for all N gradients, applied as one update; via a
  parameter server or an all-reduce. Staleness is always 0.
- ``asp`` (asynchronous, Hogwild!-style, Recht et al. 2011): never wait; the server applies each
  gradient as it arrives.
- ``ssp`` (stale synchronous, Ho et al. 2013): a worker whose clock (iterations completed) is c
  may start its next iteration only while ``c - min(all clocks) <= s``. s = 0 keeps the clocks
  in step like BSP, but the server still applies each gradient on arrival, so a gradient can
  be up to N - 1 versions stale (BSP's are 0): the bound is on clocks, not on versions.
- ``local-sgd`` (periodic averaging): H local steps on each worker's own replica, then an
  all-reduce averages the replicas.
- ``backup`` (Chen et al. 2016): each round applies the first N - b gradients; the b late ones
  are dropped, and their workers join the round that is open when they are done.
"""

from __future__ import annotations

from dataclasses import dataclass

from simlib.errors import ConfigError
from simlib.sim._checks import check_choice, check_count
from simlib.sim.collectives import ALLREDUCE_ALGORITHMS

__all__ = ["COMMS", "POLICIES", "PolicySpec"]

POLICIES = ("bsp", "asp", "ssp", "local-sgd", "backup")
COMMS = ("ps", "allreduce")
_ALLOWED_COMMS = {
    "bsp": COMMS,
    "asp": ("ps",),
    "ssp": ("ps",),
    "backup": ("ps",),
    "local-sgd": ("allreduce",),
}


@dataclass(frozen=True)
class PolicySpec:
    """A synchronisation policy and its parameters.

    Args:
        name: "bsp", "asp", "ssp", "local-sgd" or "backup".
        staleness: s for "ssp" (>= 0).
        local_steps: H for "local-sgd" (>= 1).
        backup_workers: b for "backup" (0 <= b < workers).
        comm: "ps" (parameter servers) or "allreduce"; None picks "allreduce" for local SGD
            and "ps" otherwise. Only BSP can use either.
        algorithm: the all-reduce algorithm when ``comm`` is "allreduce".

    Example:
        >>> PolicySpec("ssp", staleness=2).comm
        'ps'
    """

    name: str = "bsp"
    staleness: int = 0
    local_steps: int = 1
    backup_workers: int = 0
    comm: str | None = None
    algorithm: str = "ring"

    def __post_init__(self) -> None:
        check_choice("policy", self.name, POLICIES)
        check_count("staleness", self.staleness, 0)
        check_count("local_steps", self.local_steps, 1)
        check_count("backup_workers", self.backup_workers, 0)
        check_choice("algorithm", self.algorithm, ALLREDUCE_ALGORITHMS)
        comm = self.comm or _ALLOWED_COMMS[self.name][0]
        if comm not in _ALLOWED_COMMS[self.name]:
            allowed = " or ".join(_ALLOWED_COMMS[self.name])
            raise ConfigError(
                f"comm {comm!r} does not work with policy {self.name!r}; use {allowed}"
            )
        object.__setattr__(self, "comm", comm)

    @property
    def bound(self) -> float:
        """How many clocks a worker may run ahead of the slowest (inf for ASP)."""
        return {"bsp": 0, "ssp": self.staleness}.get(self.name, float("inf"))

    def label(self) -> str:
        """A short name for legends: ``SSP(s=2)``, ``local SGD (H=4)``, ``backup (b=1)``."""
        if self.name == "ssp":
            return f"SSP(s={self.staleness})"
        if self.name == "local-sgd":
            return f"local SGD (H={self.local_steps})"
        if self.name == "backup":
            return f"backup (b={self.backup_workers})"
        return self.name.upper() + (" all-reduce" if self.comm == "allreduce" else "")
