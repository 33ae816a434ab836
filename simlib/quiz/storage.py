"""Where quiz state lives, and how files are written so that a crash never leaves half a file.

Review state goes to ``$SIMLIB_STATE_DIR`` when it is set (tests set it), else ``~/.simlib/``.
Every file is written by :mod:`simlib.files`: to a temporary file in the same folder, flushed to
disk and then moved over the old one with ``os.replace``, which is atomic (readers see the old
file or the new one, never a mixture); a device, FIFO or folder at the path is refused, and a
symlink is written through.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.json"
    >>> _ = write_json_atomic(path, {"a": 1}); read_json(path)
    {'a': 1}
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from simlib.files import write_bytes, write_json, write_text
from simlib.quiz.errors import StateError

__all__ = ["read_json", "state_dir", "write_bytes_atomic", "write_json_atomic", "write_text_atomic"]


def state_dir() -> Path:
    """``$SIMLIB_STATE_DIR`` if set, else ``~/.simlib`` (created on the first save, not here)."""
    env = os.environ.get("SIMLIB_STATE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".simlib"


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`simlib.files.write_bytes`)."""
    return write_bytes(path, data)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""
    return write_text(path, text)


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as sorted, indented JSON to ``path`` atomically (same data, same bytes)."""
    return write_json(path, data)


MAX_STATE_BYTES = 64_000_000


def read_json(path: str | os.PathLike) -> Any:
    """Read JSON from ``path``; a damaged file is a :class:`StateError` that says what to do.

    Only a regular file is read (a FIFO would block, a device never end), up to
    ``MAX_STATE_BYTES``; a missing file raises ``FileNotFoundError`` for the caller to handle.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StateError(f"{path} cannot be read ({exc.strerror}); check the file") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StateError(f"{path} is not a regular file; move it away to start afresh")
        with os.fdopen(os.dup(fd), "rb") as handle:
            raw = handle.read(MAX_STATE_BYTES + 1)
        if len(raw) > MAX_STATE_BYTES:
            raise StateError(f"{path} is over {MAX_STATE_BYTES} bytes; delete it to start afresh")
        return json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise StateError(
            f"{path} cannot be read ({type(exc).__name__}: {exc}); delete it to start afresh"
        ) from None
    finally:
        os.close(fd)
