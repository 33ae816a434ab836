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


# A bound on a hang, never on speed: a subprocess or server that has not answered by then is
# stuck, whatever the machine's load (a loaded 2-core machine runs these 10x slower, not 100x).
HANG_S = 300.0


def wait_until(ready, *, what: str, timeout_s: float = HANG_S, alive=None, poll_s: float = 0.1):
    """Poll ``ready()`` until it returns a true value and return that value.

    A readiness signal with a generous bound instead of a fixed sleep: the wait is as short as
    the machine allows and fails only past ``timeout_s`` (a hang), or at once when ``alive()``
    turns false (the process that should get ready died), naming ``what`` it waited for.
    """
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = ready()
        if value:
            return value
        if alive is not None and not alive():
            raise AssertionError(f"gave up waiting for {what}: the process ended first")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout_s:g} s (a hang)")
        time.sleep(poll_s)


def right_answer(item, student: str, course: str = "simlib"):
    """The answer that earns ``item``'s points for ``student``, as they would write it: choice
    letters in their own option order, their variant's numeric key, the model answer."""
    from simlib.quiz.order import presented
    from simlib.quiz.schema import MultipleChoice, NumericItem, SingleChoice
    from simlib.quiz.variants import make_variant

    seen = presented(item, student=student, course=course)
    if isinstance(seen, SingleChoice):
        return seen.answer
    if isinstance(seen, MultipleChoice):
        return list(seen.answer)
    if isinstance(seen, NumericItem):
        return make_variant(seen, student, course=course).key
    return seen.model_answer
