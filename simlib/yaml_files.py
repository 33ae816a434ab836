"""The one way simlib reads a YAML file: safe, bounded, and strict about what it refuses.

Every YAML file simlib reads (scenario files, question banks, flashcard decks) goes through
:func:`parse_yaml` (text) or :func:`read_yaml` (a path). Nothing in a file is ever run as code
(PyYAML's safe loader, the C one when present), and a file is refused with one line that names
the file, the line and what to do, when it

- is larger than ``MAX_FILE_BYTES`` (checked before it is read, by reading one byte more);
- uses an alias (``*name``): a 360-byte "billion laughs" file of nested aliases expands to
  gigabytes as soon as anything walks it, so aliases are refused before anything is built;
- nests deeper than ``MAX_DEPTH`` or holds more than ``MAX_NODES`` values (checked on the
  parser's event stream, which uses no recursion, so no RecursionError either);
- repeats a key in one mapping (YAML would silently keep the last value).

Error lines quote values through :func:`quote`, which keeps at most ``QUOTE_CHARS`` characters:
a 10 MB value or a whole ``/etc/passwd`` is never echoed.

Example:
    >>> parse_yaml("a: 1\\nb: [2, 3]\\n", "ok.yaml")
    {'a': 1, 'b': [2, 3]}
    >>> parse_yaml("a: 1\\na: 2\\n", "dup.yaml")
    Traceback (most recent call last):
    ...
    simlib.errors.ConfigError: dup.yaml: line 2: key 'a' appears twice in one mapping (first at line 1); keep one
"""  # noqa: E501 - the doctest's expected line is one line

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import yaml

from simlib.errors import ConfigError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "QUOTE_CHARS",
    "parse_yaml",
    "quote",
    "read_text",
    "shorten",
    "read_yaml",
]

MAX_FILE_BYTES = 2_000_000  # the largest shipped bank is ~40 KB; 2 MB is 50 times that
MAX_DEPTH = 32  # the deepest shipped file nests 5 levels
MAX_NODES = 200_000  # values (scalars, lists, mappings) in one file
QUOTE_CHARS = 40  # the most characters of a value an error line repeats

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)``, cut to ``limit`` characters with the full length said when it is cut.

    Example:
        >>> quote("x" * 1000)
        "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... (1,000 characters)"
        >>> quote(2.5)
        '2.5'
    """
    text = value if isinstance(value, str) else None
    shown = repr(value)
    if len(shown) <= limit:
        return shown
    size = f"{len(text):,} characters" if text is not None else f"{len(shown):,} characters shown"
    return f"{shown[:limit]}... ({size})"


def shorten(name: str, limit: int = 80) -> str:
    """``name`` as is when short, else its start and end around ``...`` (file names in errors).

    Example:
        >>> shorten("a" * 100, 20)
        'aaaaaaaaaa...aaaaaa (100 characters)'
    """
    if len(name) <= limit:
        return name
    head, tail = limit // 2, limit // 3
    return f"{name[:head]}...{name[-tail:]} ({len(name):,} characters)"


class _DuplicateKey(Exception):
    def __init__(self, key: Any, mark, first):
        super().__init__(key)
        self.key, self.mark, self.first = key, mark, first


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key that a mapping already has."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:
                    continue  # an unhashable key: the base constructor reports it
                if first is not key_node.start_mark:
                    raise _DuplicateKey(key, key_node.start_mark, first)
        return super().construct_mapping(node, deep)


def _line(mark) -> str:
    return f"line {mark.line + 1}" if mark is not None else "somewhere"


def _scan(text: str, source: str, error: type[Exception], max_depth: int, max_nodes: int):
    """Refuse aliases, deep nesting and huge trees from the event stream (no recursion)."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.AliasEvent):
            raise error(
                f"{source}: {_line(event.start_mark)}: YAML anchors and aliases (*{event.anchor}) "
                "are not allowed, since a few bytes of them can expand to gigabytes; write the "
                "content out"
            )
        if isinstance(event, _CLOSE):
            depth -= 1
            continue
        if isinstance(event, _OPEN):
            depth += 1
            if depth > max_depth:
                raise error(
                    f"{source}: {_line(event.start_mark)}: the YAML is nested deeper than "
                    f"{max_depth} levels; flatten it"
                )
        if isinstance(event, (*_OPEN, yaml.ScalarEvent)):
            nodes += 1
            if nodes > max_nodes:
                raise error(
                    f"{source}: {_line(event.start_mark)}: the YAML holds more than "
                    f"{max_nodes:,} values, which is too large; split it"
                )


def parse_yaml(
    text: str,
    source: str,
    *,
    error: type[Exception] = ConfigError,
    max_bytes: int = MAX_FILE_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Any:
    """The data of the YAML ``text``, or ``error`` with one line naming ``source`` and the line.

    Args:
        text: the file's text.
        source: the file's name, for error lines.
        error: the exception class to raise (a :class:`simlib.errors.SimlibError` subclass).
        max_bytes, max_depth, max_nodes: the caps (see the module docstring).
    """
    if len(text) > max_bytes:
        raise error(f"{source}: the file is over {max_bytes:,} bytes; split it or shorten it")
    try:
        _scan(text, source, error, max_depth, max_nodes)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader, never a full one
    except error:
        raise
    except _DuplicateKey as dup:
        raise error(
            f"{source}: {_line(dup.mark)}: key {quote(dup.key)} appears twice in one mapping "
            f"(first at {_line(dup.first)}); keep one"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" ({_line(mark)}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "nesting depth" in problem:  # libyaml's own cap (1,000) met while looking ahead
            raise error(
                f"{source}: {_line(mark)}: the YAML is nested deeper than {max_depth} levels; "
                "flatten it"
            ) from None
        raise error(
            f"{source}: not valid YAML{where}: {quote(problem, 80)}; fix the syntax there"
        ) from None
    except (RecursionError, ValueError, OverflowError, TypeError) as exc:
        raise error(
            f"{source}: the YAML cannot be read ({type(exc).__name__}: {quote(str(exc))}); "
            "simplify it"
        ) from None


def read_text(
    path: str | os.PathLike,
    *,
    what: str = "file",
    error: type[Exception] = ConfigError,
    max_bytes: int = MAX_FILE_BYTES,
) -> str:
    """The UTF-8 text of the regular file ``path``, read only up to ``max_bytes`` + 1 bytes.

    Folders, FIFOs, devices and names the system refuses (too long, ...) are each one line.
    """
    shown = shorten(os.fspath(path))
    try:
        if not Path(path).is_file():
            raise error(f"{shown}: no such {what} file")
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        why = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        raise error(f"{shown}: cannot read the {what} file ({why}); check the path") from None
    if len(data) > max_bytes:
        raise error(f"{shown}: the {what} is over {max_bytes:,} bytes; split it or shorten it")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.start + 1]
        raise error(
            f"{shown}: not UTF-8 text (byte {exc.start}: {bad!r}); save the {what} as a UTF-8 "
            "YAML file"
        ) from None


def read_yaml(path: str | os.PathLike, *, what: str = "file", **caps: Any) -> Any:
    """:func:`read_text` then :func:`parse_yaml` (keyword arguments: ``error`` and the caps)."""
    error = caps.get("error", ConfigError)
    text = read_text(path, what=what, error=error, max_bytes=caps.get("max_bytes", MAX_FILE_BYTES))
    return parse_yaml(text, shorten(os.fspath(path)), **caps)
