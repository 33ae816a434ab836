"""A small multi-layer perceptron as pure functions: ``init_mlp``, ``apply_mlp``, ``loss_fn``.

Parameters are a list of layers, each ``{"w": W[D_in, D_out], "b": b[D_out]}``, float32. Hidden
layers use ReLU; the last layer gives logits, and the loss is the mean softmax cross-entropy.
Everything here is a pure function of its arguments, so the same code runs on one device, under
``pmap``, under ``jit`` with shardings, or inside ``shard_map``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from simlib.errors import ConfigError

__all__ = [
    "MLPConfig",
    "accuracy",
    "apply_mlp",
    "init_mlp",
    "loss_fn",
    "param_bytes",
    "param_count",
    "param_sha256",
    "sgd_update",
    "tree_max_abs_diff",
]


@dataclass(frozen=True)
class MLPConfig:
    """Layer widths from input to output, e.g. ``(64, 128, 10)`` for 8x8 digits."""

    layer_sizes: tuple[int, ...] = (64, 128, 10)

    def __post_init__(self):
        sizes = tuple(self.layer_sizes)
        if len(sizes) < 2 or any(int(s) != s or s <= 0 for s in sizes):
            raise ConfigError(
                f"layer_sizes must be at least two whole numbers > 0 (input ... output), "
                f"got {self.layer_sizes!r}"
            )
        object.__setattr__(self, "layer_sizes", tuple(int(s) for s in sizes))


def init_mlp(key: jax.Array, layer_sizes: Sequence[int]) -> list[dict[str, jax.Array]]:
    """He-initialised weights ``W ~ N(0, 2 / D_in)`` and zero biases.

    Args:
        key: a JAX PRNG key (``jax.random.key(seed)``).
        layer_sizes: widths from input to output.

    Returns:
        ``[{"w": W[D_in, D_out], "b": b[D_out]}, ...]`` in float32.
    """
    sizes = MLPConfig(tuple(layer_sizes)).layer_sizes
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {
            "w": jax.random.normal(k, (d_in, d_out), jnp.float32) * jnp.sqrt(2.0 / d_in),
            "b": jnp.zeros((d_out,), jnp.float32),
        }
        for k, d_in, d_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def apply_mlp(params, x: jax.Array) -> jax.Array:
    """Logits ``[B, D_out]`` for inputs ``x[B, D_in]``."""
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy: ``-(1/B) sum_i log softmax(f(x_i))[y_i]``."""
    logits = apply_mlp(params, x)
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def accuracy(params, x, y) -> float:
    """Fraction of ``x`` whose arg-max logit is the label ``y``."""
    return float(jnp.mean(jnp.argmax(apply_mlp(params, x), axis=1) == y))


def sgd_update(params, grads, learning_rate: float):
    """Plain SGD: ``theta <- theta - lr * g`` on every leaf."""
    return jax.tree.map(lambda p, g: p - learning_rate * g, params, grads)


def param_count(params) -> int:
    """Number of scalars in a parameter tree."""
    return int(sum(np.size(leaf) for leaf in jax.tree.leaves(params)))


def param_bytes(params) -> int:
    """Bytes of a parameter tree (what a full gradient all-reduce must carry)."""
    return int(sum(np.size(x) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(params)))


def param_sha256(params) -> str:
    """SHA-256 of every leaf's bytes (C order, in tree order): equal iff bitwise identical."""
    import hashlib

    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(params):
        array = np.ascontiguousarray(np.asarray(leaf))
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def tree_max_abs_diff(a, b) -> float:
    """Largest ``|a - b|`` over all leaves of two parameter trees of the same structure."""
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    diffs = (float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) for x, y in pairs)
    return max(diffs, default=0.0)
