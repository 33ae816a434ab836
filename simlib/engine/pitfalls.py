"""Mistakes that train silently wrong, run for real so a learner can see the damage.

``shard_map_gradient_scale``: inside ``jax.shard_map`` (with ``check_vma`` on, the default),
``jax.grad`` with respect to *replicated* parameters already returns the gradient summed over
the mesh axis, because the transpose of "replicate" is "sum". Adding the textbook
``lax.pmean`` then leaves that sum in place, so the step uses ``n`` times the mean gradient:
like multiplying the learning rate by the number of devices. Marking the parameters as
device-varying first (``lax.pcast(params, axis, to="varying")``) gives each device its own local
gradient, and ``pmean`` then averages as intended (REFERENCES.md, JAX 0.10 facts).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from simlib.engine.data import digits
from simlib.engine.devices import make_mesh
from simlib.engine.model import init_mlp, loss_fn

__all__ = ["shard_map_gradient_scale"]


def _global_norm(tree) -> jax.Array:
    return jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(tree)))


def shard_map_gradient_scale(devices: Sequence, *, pcast: bool, batch_size: int = 128) -> float:
    """``|g_shard_map| / |g_one_device|`` for the data-parallel gradient on the digits MLP.

    Args:
        devices: the devices of a one-axis ("data") mesh.
        pcast: mark the parameters device-varying before ``grad`` (the right way) or not.
        batch_size: global batch, split evenly over the devices.

    Returns:
        1.0 (up to rounding) with ``pcast=True``; ``len(devices)`` without it.
    """
    mesh = make_mesh(devices, ("data",))
    data = digits()
    x, y = data.x[:batch_size], data.y[:batch_size]
    params = init_mlp(jax.random.key(0), (data.num_features, 32, data.num_classes))

    def per_device(p, x, y):  # p replicated, x[B/n, D], y[B/n]
        if pcast:
            p = jax.lax.pcast(p, "data", to="varying")
        return jax.lax.pmean(jax.grad(loss_fn)(p, x, y), "data")

    mapped = jax.shard_map(
        per_device, mesh=mesh, in_specs=(P(), P("data"), P("data")), out_specs=P()
    )
    distributed = jax.jit(mapped)(params, x, y)
    reference = jax.grad(loss_fn)(params, x, y)
    return float(_global_norm(distributed) / _global_norm(reference))
