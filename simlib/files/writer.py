"""Writing outputs so that a crash, a kill or a bad path never leaves a half-written result.

One file: the bytes go to a temporary file in the target's folder (created with mode 0666
less the umask, or given the mode of the file it replaces), are flushed to disk, and the
temporary file is renamed over the target. A rename within a folder is atomic, so a reader
sees the old file or the new one.

Several files that belong together (``quiz grade --csv X --json-out Y``, the figures of one
``--plot``): every temporary file is written first; then a *journal* listing the renames is
written into each folder involved (the last copy to appear is the commit point); then the
renames are done in order; then the journals are deleted. A kill before the commit leaves
every old file in place, and the next write into any of those folders (or :func:`recover`)
deletes the new temporary files; a kill after it leaves the journals, and the next write there
does the remaining renames first. Either way, all old or all new.

Temporary files and journals are locked (``flock``) by the process that writes them; a file is
created under a name the cleaner skips, locked, and only then renamed to its temporary name,
so a temporary file is never seen unlocked while its writer lives. A lock that can be taken
means its writer is dead: the next write into the folder removes such temporary files, so a
killed run leaves no litter behind for long.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_files({folder / "a.csv": b"x\\n", folder / "b.json": b"{}\\n"})
    [PosixPath('...a.csv'), PosixPath('...b.json')]
    >>> sorted(p.name for p in folder.iterdir())
    ['a.csv', 'b.json']
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simlib.files.names import show_path
from simlib.files.targets import Target, WriteError, check_still_writable, resolve_target

__all__ = [
    "JOURNAL_PREFIX",
    "TEMP_SUFFIX",
    "append_text",
    "recover",
    "write_bytes",
    "write_files",
    "write_json",
    "write_text",
]

TEMP_SUFFIX = ".simlib-tmp"
JOURNAL_PREFIX = ".simlib-journal."
_JOURNAL_LIMIT_BYTES = 1_000_000
_OPEN_QUIET = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


NEWBORN_SUFFIX = ".simlib-new"
_NEWBORN_STALE_S = 60.0


def _temp_path(folder: Path, name: str) -> Path:
    tag = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:40]
    return folder / f".{tag}.{secrets.token_hex(8)}{TEMP_SUFFIX}"


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Temp:
    """A locked temporary file beside its target, holding the new bytes."""

    def __init__(self, target: Target, data: bytes):
        self.target = target
        self.path = _temp_path(target.folder, target.path.name)
        # Born under a name the cleaner skips, locked, and only then given the temporary
        # name: so a file with that name is always locked while its writer lives.
        newborn = self.path.with_name(self.path.name.removesuffix(TEMP_SUFFIX) + NEWBORN_SUFFIX)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        self.fd = os.open(newborn, flags, 0o666)  # the umask applies
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            os.rename(newborn, self.path)
        except BaseException:
            newborn.unlink(missing_ok=True)
            self.close()
            raise
        try:
            if target.mode is not None:
                os.fchmod(self.fd, target.mode)
                if target.owner is not None and os.geteuid() == 0:
                    try:
                        os.fchown(self.fd, *target.owner)
                    except OSError:
                        pass
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
            os.fsync(self.fd)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        Path(self.path).unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _mkdirs(target: Target) -> None:
    try:
        target.folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(
            f"cannot write {show_path(target.requested)}: cannot create its folder "
            f"({exc.strerror or exc}); choose another folder"
        ) from None


def _write_journal(folder: Path, renames: list[tuple[Path, Path]], name: str) -> _Temp:
    """Publish the journal in ``folder`` (atomically); its open, locked handle is returned."""
    body = json.dumps({"version": 1, "renames": [[str(t), str(d)] for t, d in renames]})
    journal = Target(folder / name, folder / name, None, None)
    temp = _Temp(journal, body.encode())
    os.replace(temp.path, journal.path)
    temp.path = journal.path
    _fsync_folder(folder)
    return temp


def write_files(outputs: Mapping[str | os.PathLike, bytes]) -> list[Path]:
    """Write every ``path: bytes`` of ``outputs`` so that a kill leaves all old or all new.

    Every target is checked (:func:`simlib.files.targets.resolve_target`) before anything is
    written; one bad target means nothing is written. Returns the paths written (symlinks
    followed), in the order given.
    """
    targets = [resolve_target(p) for p in outputs]
    if not targets:
        return []
    seen: dict[Path, Path] = {}
    for t in targets:
        if t.path in seen:
            raise WriteError(
                f"cannot write {show_path(t.requested)}: it is the same file as "
                f"{show_path(seen[t.path])}; give each output its own path"
            )
        seen[t.path] = t.requested
    folders = list(dict.fromkeys(t.folder for t in targets))
    for t in targets:
        _mkdirs(t)
    for folder in folders:
        recover(folder)
    temps: list[_Temp] = []
    journals: list[_Temp] = []
    current = targets[0]
    try:
        for t, data in zip(targets, outputs.values(), strict=True):
            current = t
            temps.append(_Temp(t, bytes(data)))
        for t in targets:
            current = t
            check_still_writable(t)
        if len(temps) > 1:
            renames = [(tmp.path, tmp.target.path) for tmp in temps]
            name = f"{JOURNAL_PREFIX}{secrets.token_hex(8)}.json"
            for folder in folders:
                journals.append(_write_journal(folder, renames, name))
        for tmp in temps:
            current = tmp.target
            os.replace(tmp.path, tmp.target.path)
            tmp.path = tmp.target.path  # renamed: nothing left to discard
        for folder in folders:
            _fsync_folder(folder)
        for journal in journals:
            Path(journal.path).unlink(missing_ok=True)
    except BaseException as exc:
        if not journals:  # before the journal: drop the new files, the old ones stand
            for tmp in temps:
                if tmp.path != tmp.target.path:
                    tmp.discard()
        # after it: the journal stays, and the next write here finishes the renames
        if isinstance(exc, OSError):
            raise WriteError(
                f"cannot write {show_path(current.requested)}: {exc.strerror or exc}; "
                "check the folder and the free space"
            ) from None
        raise
    finally:
        for handle in (*temps, *journals):
            handle.close()
    return [t.path for t in targets]


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; see :func:`write_files`."""
    return write_files({path: data})[0]


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as sorted, indented JSON (same data, same bytes) to ``path`` atomically."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def append_text(path: str | os.PathLike, text: str) -> Path:
    """Append ``text`` to ``path`` (created with the umask's mode), refusing non-regular files.

    For logs that only grow: a kill can cut the last line short, never an earlier one.
    """
    target = resolve_target(path)
    _mkdirs(target)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(target.path, flags, 0o666)
    except OSError as exc:
        raise WriteError(
            f"cannot write {show_path(target.requested)}: {exc.strerror or exc}; check the path"
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise WriteError(f"cannot write {show_path(target.requested)}: not a regular file")
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return target.path


def _lock_dead(path: Path) -> int | None:
    """An open, locked fd on ``path`` when no live process holds it; None otherwise."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, _OPEN_QUIET)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _renames(fd: int) -> list[tuple[Path, Path]]:
    """The renames a journal lists; only ever one of our temporary files onto a path beside it."""
    try:
        listed = json.loads(os.read(fd, _JOURNAL_LIMIT_BYTES))["renames"]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # damaged or not ours: its temporary files are removed as stale
    out = []
    for pair in listed if isinstance(listed, list) else []:
        if not (isinstance(pair, list) and len(pair) == 2):
            continue
        if not all(isinstance(p, str) for p in pair):
            continue
        temp, dest = Path(pair[0]), Path(pair[1])
        if (
            temp.parent == dest.parent
            and temp.name.startswith(".")
            and temp.name.endswith(TEMP_SUFFIX)
        ):
            out.append((temp, dest))
    return out


def _settle(journal: Path, fd: int) -> None:
    """Finish, or undo, what a dead writer's journal describes.

    The writer publishes the same journal in every folder it writes into, one after the other,
    and starts renaming only when all copies exist. So when every copy is there the write is
    committed and the remaining renames are done; when one is missing it never was, and the
    new temporary files are deleted (the old files were never touched). Then every copy goes.
    """
    renames = _renames(fd)
    folders = list(dict.fromkeys(dest.parent for _, dest in renames))
    held, committed = [], True
    try:
        for folder in folders:
            copy = folder / journal.name
            if copy == journal:
                continue
            if not os.path.lexists(copy):
                committed = False
                continue
            other = _lock_dead(copy)
            if other is None:
                return  # someone else holds it: a live writer, or another run settling it
            held.append(other)
        for temp, dest in renames:
            try:
                if not stat.S_ISREG(os.lstat(temp).st_mode):
                    continue
                if committed:
                    check_still_writable(Target(dest, dest, None, None))
                    os.replace(temp, dest)
                else:
                    temp.unlink()
            except (OSError, WriteError):
                continue
        for folder in folders:
            _fsync_folder(folder)
            (folder / journal.name).unlink(missing_ok=True)
        journal.unlink(missing_ok=True)
    finally:
        for other in held:
            os.close(other)


_LEGACY = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")  # tempfile.mkstemp's, before 0.2


def _remove_legacy_temps(folder: Path, names: list[str], now: float) -> None:
    """Temporary files of simlib's older writer (``.NAME.XXXXXXXX.tmp`` beside ``NAME``), which
    a kill left behind and nothing removed; only those over a minute old, beside their file."""
    present = set(names)
    for name in names:
        match = _LEGACY.match(name)
        if not match or match["name"] not in present:
            continue
        path = folder / name
        try:
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > _NEWBORN_STALE_S:
                path.unlink()
        except OSError:
            continue


def recover(folder: str | os.PathLike) -> None:
    """Finish what killed writers left in ``folder``: complete journals, remove stale temps."""
    root = Path(folder)
    try:
        names = sorted(entry.name for entry in os.scandir(root))
    except OSError:
        return
    for name in names:
        if name.startswith(JOURNAL_PREFIX) and name.endswith(".json"):
            fd = _lock_dead(root / name)
            if fd is not None:
                try:
                    _settle(root / name, fd)
                finally:
                    os.close(fd)
    now = time.time()
    _remove_legacy_temps(root, names, now)
    for name in names:
        stale = name.startswith(".") and name.endswith(TEMP_SUFFIX)
        if name.startswith(".") and name.endswith(NEWBORN_SUFFIX):  # killed in its first µs
            try:
                stale = now - os.lstat(root / name).st_mtime > _NEWBORN_STALE_S
            except OSError:
                stale = False
        if stale:
            fd = _lock_dead(root / name)
            if fd is not None:
                try:
                    (root / name).unlink(missing_ok=True)
                finally:
                    os.close(fd)
