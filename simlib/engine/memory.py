"""Memory per device, measured: parameters, gradients, optimizer state and activations.

Two sources, both per device:

- the arrays themselves: the bytes of the shards of the parameters and of the optimizer state
  that sit on one device (``array.addressable_shards``), after the run;
- the gradients as the strategy keeps them (full, or one shard): the output of its gradient
  step, measured the same way;
- the compiler's plan, ``compiled.memory_analysis()``: the training step's
  ``temp_size_in_bytes`` is its working memory: activations kept for the backward pass,
  parameters gathered for the step, gradients in flight.

Next to them, ``memory_model`` gives the bytes the ZeRO paper's accounting predicts
(Rajbhandari et al., SC 2020, section 5) for float32 training here: 4 bytes per parameter,
4 per gradient and ``K`` of optimizer state (Adam's two moments: K = 8; SGD: K = 0), each
divided by ``N`` where the strategy shards it.

Example:
    >>> mem = measure_memory(params, opt_state, compiled_step, grads)  # doctest: +SKIP
    >>> mem.as_dict()["parameters"]                                           # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jax
import numpy as np

__all__ = ["MEMORY_CATEGORIES", "MemoryPerDevice", "measure_memory", "memory_model", "shard_bytes"]

MEMORY_CATEGORIES = ("parameters", "gradients", "optimizer_state", "activations")


@dataclass(frozen=True)
class MemoryPerDevice:
    """Bytes on one device, by category.

    ``parameters`` and ``optimizer_state`` are the shards the device really holds.
    ``gradients`` is the gradient *as the strategy keeps it* between backward pass and update:
    for ZeRO, a gradient computed with the stage's layout (replicated for stages 0-1, sharded
    for 2-3), so it reflects the layout chosen rather than an independent measurement; for
    tensor and pipeline parallelism, the parameters' layout (not measured separately).
    ``activations`` is every temporary of the compiled step (``memory_analysis``).
    """

    parameters: int
    gradients: int
    optimizer_state: int
    activations: int

    @property
    def model_state(self) -> int:
        """Parameters + gradients + optimizer state: what ZeRO partitions."""
        return self.parameters + self.gradients + self.optimizer_state

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in asdict(self).items()}


def shard_bytes(tree, device=None) -> int:
    """Bytes of the shards of every array in ``tree`` that live on ``device``.

    Args:
        tree: a pytree of ``jax.Array`` (numpy leaves count in full, as if on every device).
        device: default the first addressable device of the first array.

    Returns:
        The sum over leaves of ``shard.data.nbytes`` for the shard on ``device``.
    """
    total = 0
    for leaf in jax.tree.leaves(tree):
        if not isinstance(leaf, jax.Array):
            total += np.asarray(leaf).nbytes
            continue
        shards = leaf.addressable_shards
        target = device if device is not None else shards[0].device
        device = target
        total += sum(s.data.nbytes for s in shards if s.device == target)
    return int(total)


def measure_memory(params, opt_state, step_compiled, grads=None) -> MemoryPerDevice:
    """Measure what one device holds for a strategy.

    Args:
        params: the placed parameters (any sharding).
        opt_state: the placed optimizer state (``()`` for none).
        step_compiled: the compiled training step (``jit(...).lower(...).compile()``).
        grads: gradients as the strategy keeps them (the output of its gradient step, with
            its shardings); default: shaped and sharded like the parameters.

    Returns:
        ``MemoryPerDevice``; ``activations`` is the step's ``temp_size_in_bytes``.
    """
    first = jax.tree.leaves(params)[0]
    device = first.addressable_shards[0].device if isinstance(first, jax.Array) else None
    param_bytes = shard_bytes(params, device)
    stats = step_compiled.memory_analysis()
    return MemoryPerDevice(
        parameters=param_bytes,
        gradients=param_bytes if grads is None else shard_bytes(grads, device),
        optimizer_state=shard_bytes(opt_state, device) if jax.tree.leaves(opt_state) else 0,
        activations=int(stats.temp_size_in_bytes),
    )


def memory_model(
    params: int,
    *,
    param_shards: int = 1,
    grad_shards: int = 1,
    optimizer_shards: int = 1,
    optimizer_bytes_per_param: float = 8.0,
    bytes_per_value: int = 4,
) -> dict[str, float]:
    """Model-state bytes per device predicted by the ZeRO accounting, for float32 training.

    Formula: parameters ``4 Psi / N_p``, gradients ``4 Psi / N_g``, optimizer ``K Psi / N_o``
    (ZeRO-1: N_o = N; ZeRO-2: N_g = N_o = N; ZeRO-3: all three = N; tensor or pipeline
    parallelism over m devices: all three = m). Source: Rajbhandari et al., SC 2020, section 5,
    with 4-byte values instead of mixed precision's 2 (``simlib.sim.zero_memory``).

    Args:
        params: Psi, the parameters of the whole model.
        param_shards, grad_shards, optimizer_shards: over how many devices each is split.
        optimizer_bytes_per_param: K (Adam 8, SGD 0).
        bytes_per_value: bytes of one parameter or gradient (4 for float32).

    Returns:
        ``{"parameters", "gradients", "optimizer_state", "model_state"}`` in bytes.

    Example:
        >>> memory_model(1000, param_shards=8, grad_shards=8, optimizer_shards=8)["model_state"]
        2000.0
    """
    out = {
        "parameters": bytes_per_value * params / param_shards,
        "gradients": bytes_per_value * params / grad_shards,
        "optimizer_state": optimizer_bytes_per_param * params / optimizer_shards,
    }
    out["model_state"] = sum(out.values())
    return out
