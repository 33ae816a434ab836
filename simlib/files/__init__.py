"""Every file simlib writes goes through here: checked targets, atomic writes, shared locks.

- :mod:`simlib.files.targets`: a write goes to a regular file or a new path (symlinks followed,
  never replaced); a device, FIFO, socket or folder is refused with one line.
- :mod:`simlib.files.writer`: atomic writes of one file or of several together (all old or all
  new after a kill), modes kept or from the umask, stale temporary files removed.
- :mod:`simlib.files.locks`: a process-shared lock for read-modify-write of state files.
- :mod:`simlib.files.names`: untrusted names made safe to print.

Example:
    >>> import tempfile, pathlib
    >>> path = write_json(pathlib.Path(tempfile.mkdtemp()) / "x.json", {"a": 1})
    >>> path.read_text()
    '{\\n  "a": 1\\n}\\n'
"""

from simlib.files.locks import lock_path, locked
from simlib.files.names import printable, show_path
from simlib.files.targets import Target, WriteError, resolve_target
from simlib.files.writer import (
    append_text,
    recover,
    write_bytes,
    write_files,
    write_json,
    write_text,
)

__all__ = [
    "Target",
    "WriteError",
    "append_text",
    "lock_path",
    "locked",
    "printable",
    "recover",
    "resolve_target",
    "show_path",
    "write_bytes",
    "write_files",
    "write_json",
    "write_text",
]
