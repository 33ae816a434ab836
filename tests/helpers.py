"""Assertions shared by the test modules."""

from __future__ import annotations

import numpy as np


def assert_trees_allclose(actual, expected, *, atol: float, rtol: float = 0.0) -> None:
    """Every leaf of two pytrees (nested lists/dicts of arrays) agrees within tolerance."""
    import jax

    a_leaves, a_def = jax.tree.flatten(actual)
    e_leaves, e_def = jax.tree.flatten(expected)
    assert a_def == e_def, f"tree structures differ: {a_def} vs {e_def}"
    for i, (a, e) in enumerate(zip(a_leaves, e_leaves, strict=True)):
        np.testing.assert_allclose(
            np.asarray(a), np.asarray(e), atol=atol, rtol=rtol, err_msg=f"leaf {i}"
        )
