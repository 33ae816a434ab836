"""Bytes per device for data parallelism and ZeRO stages 1-3 (Rajbhandari et al., SC 2020).

Psi parameters trained with mixed-precision Adam: 2 bytes of fp16 parameters, 2 bytes of fp16
gradients and K = 12 bytes of optimizer state (fp32 master weights, momentum, variance) per
parameter, over N_d data-parallel ranks:

======  ==================================  ==================
stage   bytes per device                    communication
======  ==================================  ==================
0 (DP)  (2 + 2 + K) Psi                     1x (all-reduce)
1       4 Psi + K Psi / N_d                 1x
2       2 Psi + (2 + K) Psi / N_d           1x
3       (4 + K) Psi / N_d                   1.5x
======  ==================================  ==================
"""

from __future__ import annotations

from dataclasses import dataclass

from simlib.sim._checks import check_choice, check_count, check_number

__all__ = ["MemoryCost", "ZERO_STAGES", "zero_memory"]

ZERO_STAGES = (0, 1, 2, 3)


@dataclass(frozen=True)
class MemoryCost:
    """Model-state bytes on each device, split into what ZeRO partitions."""

    params: int
    ranks: int
    stage: int
    optimizer_bytes_per_param: float
    parameter_bytes: float
    gradient_bytes: float
    optimizer_bytes: float
    bytes_per_device: float
    communication_factor: float

    def as_dict(self) -> dict:
        """The fields as a plain dict (what ``simlib cost memory --json`` prints)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def zero_memory(
    params: int, ranks: int, stage: int, optimizer_bytes_per_param: float = 12
) -> MemoryCost:
    """Bytes of model state per device under plain data parallelism (stage 0) or ZeRO 1-3.

    Formula (ZeRO, Rajbhandari et al. 2020, section 5): DP ``(2+2+K) Psi``; ZeRO-1
    ``4 Psi + K Psi / N_d``; ZeRO-2 ``2 Psi + (2+K) Psi / N_d``; ZeRO-3 ``(4+K) Psi / N_d``.
    Stage 3 communicates 1.5x the all-reduce volume of plain data parallelism.

    Args:
        params: Psi, number of parameters.
        ranks: N_d, data-parallel ranks.
        stage: 0 (plain data parallelism), 1, 2 or 3.
        optimizer_bytes_per_param: K (12 for mixed-precision Adam).

    Returns:
        MemoryCost with the parameter, gradient and optimizer bytes and their sum.

    Example:
        >>> zero_memory(7_500_000_000, 64, 1).bytes_per_device / 1e9  # ZeRO paper, Figure 1
        31.40625
    """
    psi = check_count("params", params, 0)
    n_d = check_count("ranks", ranks, 1)
    check_choice("stage", stage, ZERO_STAGES)
    k = check_number("optimizer_bytes_per_param", optimizer_bytes_per_param)
    optimizer = k * psi / n_d if stage >= 1 else k * psi
    gradients = 2 * psi / n_d if stage >= 2 else 2.0 * psi
    parameters = 2 * psi / n_d if stage >= 3 else 2.0 * psi
    return MemoryCost(
        params=psi,
        ranks=n_d,
        stage=int(stage),
        optimizer_bytes_per_param=k,
        parameter_bytes=parameters,
        gradient_bytes=gradients,
        optimizer_bytes=optimizer,
        bytes_per_device=parameters + gradients + optimizer,
        communication_factor=1.5 if stage == 3 else 1.0,
    )
