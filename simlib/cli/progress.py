"""Progress on stderr for command-line work that can take more than a couple of seconds.

Shown only when stderr is a terminal: a pipe, a file or a grader's capture gets nothing, so
``--json`` output and logs stay clean. The bars are tqdm's (the ``course`` extra).

Example:
    >>> with phases(["simulating", "training"]) as advance:
    ...     advance("simulating")
    ...     advance("training")
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

__all__ = ["on_terminal", "phases"]


def on_terminal() -> bool:
    """Whether progress should be drawn: stderr is an interactive terminal."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


@contextmanager
def phases(names: Sequence[str]) -> Iterator[Callable[[str], None]]:
    """A bar over the named phases of one command; ``advance(name)`` starts phase ``name``."""
    if not on_terminal():
        yield lambda name: None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=len(names), file=sys.stderr, leave=False, unit="phase")
    started = []

    def advance(name: str) -> None:
        if started:
            bar.update(1)
        started.append(name)
        bar.set_description(name)

    try:
        yield advance
    finally:
        bar.close()
