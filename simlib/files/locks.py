"""A lock shared by processes: ``flock`` on a lock file beside the file it protects.

Two ``simlib cards review`` sessions on one deck each read the state, rate a card and write the
state back; without a lock the second write drops the first one's ratings. Holding
:func:`locked` around read-modify-write makes the sessions take turns. ``flock`` locks belong
to an open file, so the kernel releases them when their process dies, even by ``kill -9``:
a crashed session never leaves the deck locked.

Example:
    >>> import tempfile, pathlib
    >>> state = pathlib.Path(tempfile.mkdtemp()) / "cards.json"
    >>> with locked(state):
    ...     _ = state.write_text("{}")
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from simlib.files.names import show_path
from simlib.files.targets import WriteError, resolve_target

__all__ = ["lock_path", "locked"]


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file of ``path``: ``<path>.lock`` beside it."""
    target = Path(path)
    return target.with_name(target.name + ".lock")


@contextmanager
def locked(path: str | os.PathLike, timeout_s: float = 60.0) -> Iterator[None]:
    """Hold the exclusive lock of ``path`` (waiting up to ``timeout_s``) inside the block."""
    lock = resolve_target(lock_path(path)).path
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(lock, flags, 0o666)
    except OSError as exc:
        raise WriteError(
            f"cannot lock {show_path(path)}: {show_path(lock)}: {exc.strerror or exc}"
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise WriteError(f"cannot lock {show_path(path)}: {show_path(lock)} is not a file")
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WriteError(
                        f"{show_path(path)} stayed locked by another simlib for {timeout_s:g} s "
                        f"({show_path(lock)}); wait for it to finish, then try again"
                    ) from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)
