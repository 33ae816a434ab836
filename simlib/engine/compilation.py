"""Count XLA compilations, to show (and test) that a training loop compiles once.

JAX reports every backend compilation as a ``jax.monitoring`` duration event
(``/jax/core/compile/backend_compile_duration``); a listener counts them::

    with CompileCounter() as compiles:
        for _ in range(10):
            step(params, x, y)
    compiles.count        # 1 the first time, 0 once the step is cached
"""

from __future__ import annotations

from contextlib import contextmanager

import jax.monitoring

__all__ = ["BACKEND_COMPILE_EVENT", "CompileCounter"]

BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


class CompileCounter:
    """Context manager: ``count`` backend compilations and their total ``seconds`` inside it."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._ignoring = False

    @contextmanager
    def ignoring(self):
        """Inside this block compilations are not counted (e.g. a checkpoint's host copies)."""
        self._ignoring = True
        try:
            yield self
        finally:
            self._ignoring = False

    def _listen(self, event: str, duration_s: float, **_) -> None:
        if event == BACKEND_COMPILE_EVENT and not self._ignoring:
            self.count += 1
            self.seconds += duration_s

    def __enter__(self) -> CompileCounter:
        jax.monitoring.register_event_duration_secs_listener(self._listen)
        return self

    def __exit__(self, *exc) -> None:
        jax.monitoring.unregister_event_duration_listener(self._listen)
