"""Where a write may go: a regular file or a new path, never a device, pipe, socket or folder.

Writing "atomically" means writing a temporary file and renaming it over the target. Renaming
over ``/dev/full`` (as root) replaces the device node with a regular file, and renaming over a
symlink replaces the link. So before anything is written the target is *resolved*: symlinks
are followed to the file they name (the write goes through them and the link stays), and what
is found there must be a regular file (whose permission bits and owner are then kept) or
nothing at all (a new file, created with the mode the umask allows). Anything else (a
directory, FIFO, socket, character or block device, a symlink loop, a path through a file) is
refused with one line that names it.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> resolve_target(folder / "new.csv").mode is None
    True
    >>> resolve_target(folder)
    Traceback (most recent call last):
    ...
    simlib.files.targets.WriteError: cannot write ... it is a directory, not a regular file; ...
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from simlib.errors import SimlibError
from simlib.files.names import show_path

__all__ = ["Target", "WriteError", "check_still_writable", "file_kind", "resolve_target"]


class WriteError(SimlibError):
    """An output cannot be written where it was asked to go; the message says why and what to do."""


_KINDS = (
    (stat.S_ISDIR, "directory"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISFIFO, "FIFO (named pipe)"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISLNK, "symlink"),
    (stat.S_ISREG, "regular file"),
)


def file_kind(mode: int) -> str:
    """What an ``st_mode`` is, in words ("directory", "FIFO (named pipe)", ...)."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "special file"


@dataclass(frozen=True)
class Target:
    """A checked output path.

    Attributes:
        requested: the path as given.
        path: the path that is written: ``requested`` with every symlink followed.
        mode: the permission bits of the existing file (kept), or None for a new file.
        owner: ``(uid, gid)`` of the existing file, or None for a new file.
    """

    requested: Path
    path: Path
    mode: int | None
    owner: tuple[int, int] | None

    @property
    def folder(self) -> Path:
        return self.path.parent


def _os_error(requested: Path, exc: OSError) -> WriteError:
    if exc.errno == errno.ENAMETOOLONG:
        why = "a name in it is too long (at most 255 bytes each); choose a shorter name"
    elif exc.errno == errno.ELOOP:
        why = "its symlinks loop; point the link at a file"
    elif exc.errno == errno.ENOTDIR:
        why = "a part of the path is a file, not a folder; choose another folder"
    else:
        why = f"{exc.strerror or exc}; check the path and its folder"
    return WriteError(f"cannot write {show_path(requested)}: {why}")


def _refuse(requested: Path, real: Path, kind: str) -> WriteError:
    via = f" (a symlink to {show_path(real)})" if real != Path(os.path.abspath(requested)) else ""
    article = "an" if kind[0] in "aeiou" else "a"
    return WriteError(
        f"cannot write {show_path(requested)}{via}: it is {article} {kind}, not a regular file; "
        "give the path of a file"
    )


def resolve_target(path: str | os.PathLike) -> Target:
    """Check that ``path`` may be written, following symlinks; raise :class:`WriteError` if not."""
    requested = Path(path)
    if not os.fspath(requested):
        raise WriteError("cannot write an empty path; give the path of a file")
    try:
        real = Path(os.path.realpath(requested))
        info = os.lstat(real)
    except FileNotFoundError:
        _check_new_path(requested, real)
        return Target(requested, real, None, None)
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValueError):  # an embedded NUL
            raise WriteError(f"cannot write {show_path(requested)}: it holds a NUL byte") from None
        raise _os_error(requested, exc) from None
    if stat.S_ISLNK(info.st_mode):  # realpath stops at a loop and leaves the link
        raise WriteError(
            f"cannot write {show_path(requested)}: its symlinks loop; point the link at a file"
        )
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(requested, real, file_kind(info.st_mode))
    return Target(requested, real, stat.S_IMODE(info.st_mode) & 0o777, (info.st_uid, info.st_gid))


def _check_new_path(requested: Path, real: Path) -> None:
    """A new file: the nearest existing folder above it must be a folder (it may be created)."""
    for parent in real.parents:
        try:
            info = os.stat(parent)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise _os_error(requested, exc) from None
        if not stat.S_ISDIR(info.st_mode):
            raise WriteError(
                f"cannot write {show_path(requested)}: {show_path(parent)} is a "
                f"{file_kind(info.st_mode)}, not a folder; choose another folder"
            )
        return


def check_still_writable(target: Target) -> None:
    """Just before the rename: the path still holds a regular file, or nothing."""
    try:
        info = os.lstat(target.path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _os_error(target.requested, exc) from None
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(target.requested, target.path, file_kind(info.st_mode))
