"""File names and other untrusted text made safe to print on a terminal, in one line.

A file name may hold anything but ``/`` and NUL: terminal escape codes (``\\x1b[2J`` clears the
screen), newlines that forge extra report lines, right-to-left overrides that reverse what
follows, bytes that are not UTF-8. :func:`printable` replaces every character that Python does
not call printable (Unicode categories "Other" and "Separator" except the space) by its escape,
as ``repr`` would, and shortens what is left to ``limit`` characters.

Example:
    >>> printable("ok.json")
    'ok.json'
    >>> printable("evil\\x1b[2J\\nname.json")
    'evil\\\\x1b[2J\\\\nname.json'
    >>> printable("x" * 100, limit=10)
    'xxxxxxxxx…'
"""

from __future__ import annotations

import os

__all__ = ["printable", "show_path"]


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if ch == "\r":
        return "\\r"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str, limit: int | None = 80) -> str:
    """``text`` with non-printable characters escaped, cut to ``limit`` characters (with …)."""
    safe = "".join(ch if ch.isprintable() else _escape(ch) for ch in str(text))
    if limit is not None and len(safe) > limit:
        return safe[: max(0, limit - 1)] + "…"
    return safe


def show_path(path: str | os.PathLike, limit: int = 80) -> str:
    """A path as it may be printed in an error line: escaped, and its tail kept when long.

    The tail is what names the file, so a long path keeps its last ``limit`` characters.

    Example:
        >>> show_path("/a/" + "b" * 100 + "/grades.csv", limit=20)
        '…bbbbbbbb/grades.csv'
    """
    safe = printable(os.fspath(path), limit=None)
    if len(safe) > limit:
        return "…" + safe[-(limit - 1) :]
    return safe
