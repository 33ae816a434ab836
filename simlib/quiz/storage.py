"""Where quiz state lives, and how files are written so that a crash never leaves half a file.

Review state goes to ``$SIMLIB_STATE_DIR`` when it is set (tests set it), else ``~/.simlib/``.
Every file is written to a temporary file in the same folder, flushed to disk and then moved
over the old one with ``os.replace``, which is atomic: readers see the old file or the new
one, never a mixture.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.json"
    >>> write_json_atomic(path, {"a": 1}); read_json(path)
    {'a': 1}
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from simlib.quiz.errors import QuizError, StateError

__all__ = ["read_json", "state_dir", "write_bytes_atomic", "write_json_atomic", "write_text_atomic"]


def state_dir() -> Path:
    """``$SIMLIB_STATE_DIR`` if set, else ``~/.simlib`` (created on the first save, not here)."""
    env = os.environ.get("SIMLIB_STATE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".simlib"


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise QuizError(f"cannot write {target} ({exc.strerror}); check the folder") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise QuizError(f"cannot write {target} ({exc.strerror}); check the folder") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as sorted, indented JSON to ``path`` atomically (same data, same bytes)."""
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read JSON from ``path``; a damaged file is a :class:`StateError` that says what to do."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise StateError(
            f"{path} cannot be read ({type(exc).__name__}: {exc}); delete it to start afresh"
        ) from None
